"""Small calls (issue 14, item 3): what a call costs above its compiled work.

Group ``latency|predict_proba|<rows>``: ``predict_proba`` of 1, 100 and 1,000 rows of the
breast-cancer network ``(30, 16, 1)`` by ``Network``, ``FastNetClassifier`` and scikit-learn's
``MLPClassifier`` holding the same weights. Group ``latency|overhead``: a one-epoch ``fit`` and
``loss_and_gradients`` on S next to the compiled work alone (the engine's runner called
directly), so that the differences are the Python overheads::

    flock /tmp/fastnet-bench.lock python -m pytest bench/test_bench_latency.py --benchmark-only

The default (benchmarks disabled) run does each case once and checks that the three
implementations predict the same probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from fastnet import Network, optim
from fastnet.backends.numba import NumbaBackend
from fastnet.data import WORKLOADS, workload_data
from fastnet.sklearn import FastNetClassifier

ROWS = (1, 100, 1000)


@pytest.fixture(scope="module")
def fitted():
    """The three predictors, holding the same weights, and 1,000 standardised rows."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = FastNetClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    weights = ours.network_.weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier((16,), activation="logistic", max_iter=1).fit(X, y)
    theirs.coefs_ = [W.copy() for W, _ in weights]
    theirs.intercepts_ = [b.copy() for _, b in weights]
    net = Network.from_weights(weights, loss="log")
    return {"Network": net, "FastNetClassifier": ours, "MLPClassifier": theirs}, np.tile(X, (2, 1))


def _proba(name, model):
    if name == "Network":
        return model.predict_proba
    return lambda X: model.predict_proba(X)[:, 1]


@pytest.mark.parametrize("implementation", ["Network", "FastNetClassifier", "MLPClassifier"])
@pytest.mark.parametrize("rows", ROWS)
def test_predict_proba(benchmark, fitted, implementation, rows):
    models, X = fitted
    Xn = X[:rows].copy()
    call = _proba(implementation, models[implementation])
    benchmark.group = f"latency|predict_proba|{rows}"
    benchmark.extra_info.update(implementation=implementation, rows=rows)
    P = benchmark(call, Xn)
    np.testing.assert_allclose(P, models["Network"].predict_proba(Xn), rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def S():
    X, y, weights = workload_data(WORKLOADS["S"])
    return X, y, weights


@pytest.mark.parametrize("call", ["fit 1 epoch", "run 1 epoch (compiled work)",
                                  "loss_and_gradients"])  # fmt: skip
def test_overhead(benchmark, S, call):
    X, y, weights = S
    net = Network.from_weights(weights, loss="log")
    benchmark.group = "latency|overhead"
    benchmark.extra_info.update(call=call, workload="S")
    if call == "fit 1 epoch":
        opt = optim.GD(lr=1e-6)  # a step this small keeps every round's work the same
        benchmark(lambda: net.fit(X, y, optimizer=opt, epochs=1, tol=None))
        assert net.n_epochs_ == 1
    elif call == "loss_and_gradients":
        J, _ = benchmark(net.loss_and_gradients, X, y)
        assert np.isfinite(J)
    else:
        Xc, Y = net._check_data(X, y)
        opt = optim.GD(lr=1e-6)
        vec, scal = opt.init_state(net._layout.n_params, net.dtype)
        run = NumbaBackend(net.layers, net.dtype).runner(
            net._params, Xc, Y, net._loss, opt, vec, scal, -1.0, 10, np.array([np.inf, 0.0])
        )
        hist = np.empty(1, net.dtype)
        try:
            ran, _ = benchmark(run, 1, hist)
        finally:
            run.close()
        assert ran == 1
