"""What issue 13's training features cost per epoch on the M workload: the L2 penalty
(``alpha``), row weights (``sample_weight``) and the held-out pass (``validation_data``, 10 %
of M's rows, with early stopping), each side by side with it off, per loss and dtype. Each
feature has its own pytest-benchmark group (``M|penalty|<loss>|<dtype>``, ``M|weights|...``,
``M|validation|...``) holding the ``off`` and ``on`` cases:

    flock /tmp/fastnet-bench.lock python -m pytest bench/test_bench_features.py --benchmark-only

The target (issue 13): each costs at most 10 % more per epoch than plain training. On a shared
machine the two cases of a group see different loads; ``bench/feature_cost.py`` alternates them
round by round for a fairer ratio. The default (benchmarks disabled) run does each case once on
M's network with a few rows and epochs (``benchmarks.smoke_workload``) and checks what it
trained.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnet import Network
from fastnet.benchmarks import smoke_workload
from fastnet.data import WORKLOADS, workload_data

ROUNDS = 9
EPOCHS = 50  # per round; tol=None, so every round runs all of them
FEATURES = ("penalty", "weights", "validation")


def _options(feature: str, X, y, dtype) -> dict:
    if feature == "penalty":
        return {"alpha": 1e-3}
    if feature == "weights":
        return {"sample_weight": np.random.default_rng(0).uniform(0.5, 1.5, len(y)).astype(dtype)}
    rng = np.random.default_rng(1)
    held = rng.choice(len(y), len(y) // 10, replace=False)
    return {"validation_data": (X[held] + 0.01, y[held]), "early_stopping": True}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("loss", ["mse", "log"])
@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("feature", FEATURES)
def test_feature_cost_on_M(benchmark, feature, on, loss, dtype):
    w = smoke_workload(WORKLOADS["M"]) if benchmark.disabled else WORKLOADS["M"]
    X, y, weights = workload_data(w, dtype)
    epochs = w.epochs if benchmark.disabled else EPOCHS
    options = _options(feature, X, y, dtype) if on else {}
    name = np.dtype(dtype).name
    benchmark.group = f"M|{feature}|{loss}|{name}"
    benchmark.extra_info.update(workload="M", feature=feature, on=on, loss=loss, dtype=name,
                                epochs=epochs)  # fmt: skip

    def fresh_network():  # untimed: every round starts from the same weights
        return (Network.from_weights(weights, loss=loss, dtype=dtype),), {}

    def fit(net):
        return net.fit(X, y, lr=w.lr, epochs=epochs, tol=None, **options)

    net = benchmark.pedantic(fit, setup=fresh_network, rounds=ROUNDS, warmup_rounds=1)
    assert net.n_epochs_ == epochs and net.history_.dtype == dtype
    if on and feature == "validation":
        assert net.validation_scores_.shape == (epochs,)
        assert net.best_validation_score_ == net.validation_scores_.max()
