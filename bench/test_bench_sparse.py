"""Sparse input (issue 13, item 5): fastnet against scikit-learn's ``MLPClassifier`` on the same
CSR matrix, per epoch and peak memory.

The workload: ``fastnet.data.sparse_classification(100_000, 10_000, 0.01)``, a CSR matrix of
10,000,000 float64 values with 32-bit indices (120 MB; the dense array would be 8 GB), 0/1
labels; a ``(10_000, 16, 1)`` network (sigmoid hidden layer, sigmoid output, log loss) from
``fastnet.data.initial_weights``; full-batch gradient descent at step 0.5, which is
``MLPClassifier(hidden_layer_sizes=(16,), activation="logistic", solver="sgd",
batch_size=n, shuffle=False, momentum=0, alpha=0, learning_rate_init=0.5)`` started from the
same weights (the smoke run checks that both compute the same loss curve).

Each case (pytest-benchmark group ``"sparse"``) times a fit of ``EPOCHS`` epochs (each
implementation's own input checks included; one untimed warm-up call first) and measures, in
a fresh subprocess, the peak memory of one such fit beyond what the process held before it
(the matrix included): ``VmHWM - VmRSS`` with the high-water mark reset just before the fit
(``/proc/self/clear_refs``), and ``tracemalloc``'s peak (NumPy's buffers). ``python -m fastnet
bench --from FILE`` prints the table from ``--benchmark-json=FILE``. Without
``--benchmark-only`` each case runs once on small data, as a smoke test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastnet import Network
from fastnet.data import initial_weights, sparse_classification

N, D, DENSITY, HIDDEN, EPOCHS, LR = 100_000, 10_000, 0.01, 16, 5, 0.5
SMOKE = dict(n=2_000, d=500, density=0.02, epochs=3)
ROUNDS = 3
IMPLEMENTATIONS = ("fastnet", "scikit-learn")
REPO = Path(__file__).resolve().parent.parent


def fastnet_fit(X, y, weights, epochs):
    """``fit()``: a fastnet fit of ``epochs`` epochs from ``weights``; returns its loss curve."""

    def fit():
        net = Network.from_weights(weights, loss="log")
        return net.fit(X, y, lr=LR, epochs=epochs, tol=None).history_

    return fit


def sklearn_fit(X, y, weights, epochs):
    """``fit()``: ``MLPClassifier``'s full-batch logistic SGD of ``epochs`` epochs from
    ``weights`` (its layers built by an untimed one-epoch fit first); returns ``loss_curve_``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), activation="logistic", solver="sgd",
        batch_size=X.shape[0], shuffle=False, momentum=0.0, alpha=0.0,
        learning_rate="constant", learning_rate_init=LR, max_iter=1, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)  # builds the layers; its weights are replaced before every timed fit
    clf.set_params(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, warm_start=True)

    def fit():
        clf.coefs_ = [W.copy() for W, _ in weights]
        clf.intercepts_ = [b.copy() for _, b in weights]
        if hasattr(clf, "_optimizer"):
            del clf._optimizer  # it holds the previous fit's parameter arrays
        clf.loss_curve_, clf.best_loss_, clf._no_improvement_count = [], np.inf, 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return np.asarray(clf.loss_curve_)

    return fit


RUNNERS = {"fastnet": fastnet_fit, "scikit-learn": sklearn_fit}


def workload(n, d, density):
    X, y = sparse_classification(n, d, density)
    return X, y, initial_weights((d, HIDDEN, 1))


def matrix_bytes(X) -> int:
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


# ---------------------------------------------------------------------- peak memory
_MEMORY_SCRIPT = """
import json, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
from bench.test_bench_sparse import RUNNERS, workload
from fastnet import _engine
impl, n, d, epochs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[6])
density = float(sys.argv[5])
X, y, weights = workload(n, d, density)
RUNNERS[impl](X[:300], y[:300], weights, 1)()  # loads the kernels (or imports scikit-learn)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
out = {}
fit = RUNNERS[impl](X, y, weights, epochs)  # scikit-learn's set-up: its one-epoch fit
_engine._idle().clear()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current VmRSS
    before = status("VmRSS")
    fit()
    out["peak_rss_bytes"] = status("VmHWM") - before
except OSError:
    out["peak_rss_bytes"] = None
_engine._idle().clear()
tracemalloc.start()
fit()
out["peak_traced_bytes"] = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps(out))
"""


def peak_memory(impl: str, n: int, d: int, density: float, epochs: int) -> dict:
    """``{"peak_rss_bytes", "peak_traced_bytes"}`` of one fit, each beyond what the process
    held just before it, measured in a new process (``_MEMORY_SCRIPT``)."""
    args = [sys.executable, "-c", _MEMORY_SCRIPT, str(REPO), impl, str(n), str(d), str(density),
            str(epochs)]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_sparse(benchmark, smoke, impl):
    size = SMOKE if smoke else dict(n=N, d=D, density=DENSITY, epochs=EPOCHS)
    n, d, density, epochs = size["n"], size["d"], size["density"], size["epochs"]
    X, y, weights = workload(n, d, density)
    fit = RUNNERS[impl](X, y, weights, epochs)  # data, weights, set-up: never timed
    benchmark.group = "sparse"
    curve = benchmark.pedantic(fit, rounds=ROUNDS, warmup_rounds=1)
    memory = peak_memory(impl, n, d, density, epochs)
    benchmark.extra_info.update(
        implementation=impl, n=n, d=d, density=density, nnz=int(X.nnz), hidden=HIDDEN,
        epochs=epochs, dtype="float64", matrix_bytes=matrix_bytes(X), **memory,
    )  # fmt: skip
    assert curve.shape == (epochs,) and np.isfinite(curve).all()
    if smoke:  # the same maths: scikit-learn's loss curve is fastnet's
        other = RUNNERS["scikit-learn" if impl == "fastnet" else "fastnet"](X, y, weights, epochs)
        np.testing.assert_allclose(curve, other(), rtol=1e-10)
        assert memory["peak_traced_bytes"] > 0
