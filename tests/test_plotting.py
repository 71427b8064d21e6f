"""``fastnet.plot_history`` and ``python -m fastnet demo --plot`` (matplotlib: `test` extra)."""

import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import fastnet
from fastnet import Network, cli
from fastnet.sklearn import FastNetClassifier

matplotlib.use("Agg")


def data(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(float)


def test_import_fastnet_does_not_import_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        import fastnet
        f = fastnet.plot_history
        print("matplotlib" in sys.modules, "plot_history" in fastnet.__all__)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_plot_history_of_a_network_draws_history_per_epoch():
    X, y = data()
    net = Network((3, 4, 1), loss="log").fit(X, y, epochs=25, tol=None)
    ax = fastnet.plot_history(net, ax=Figure().subplots(), label="moons")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 26))
    np.testing.assert_array_equal(line.get_ydata(), net.history_)
    assert line.get_label() == "moons"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "training loss (log)"


def test_plot_history_of_an_estimator_draws_loss_curve_on_new_axes():
    X, y = data()
    clf = FastNetClassifier(max_epochs=15, tol=None, warm_start=True).fit(X, y).fit(X, y)
    ax = fastnet.plot_history(clf)
    (line,) = ax.get_lines()
    assert len(line.get_ydata()) == 30
    np.testing.assert_array_equal(line.get_ydata(), clf.loss_curve_)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_plot_history_needs_something_fitted():
    with pytest.raises(ValueError, match="no loss history to plot: fit it first"):
        fastnet.plot_history(Network((3, 2, 1)))
    with pytest.raises(TypeError, match="fitted estimator with loss_curve_"):
        fastnet.plot_history(FastNetClassifier())


def test_missing_matplotlib_is_a_clear_import_error(monkeypatch):
    X, y = data()
    net = Network((3, 2, 1)).fit(X, y, epochs=3)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"pip install 'fastnet-numba\[plot\]'"):
        fastnet.plot_history(net)


def test_demo_plot_writes_both_losses_side_by_side(tmp_path, capsys):
    path = tmp_path / "curves.png"
    assert cli.main(["demo", "--epochs", "40", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "breast_cancer" in out and f"written to {path}" in out  # the table is still there
    image = imread(path)
    height, width = image.shape[:2]
    assert width > 2 * height  # two panels in a row
