"""What an epoch of each optimizer costs next to a gradient-descent epoch.

Every optimizer runs the same fused forward/backward pass; they differ in the update (a few
passes over the parameters) and, for L-BFGS, in how many loss+gradient evaluations an
iteration takes. This suite times ``M``-sized epochs of each optimizer (L-BFGS: the time per
*evaluation*, the unit its line search spends), grouped ``"{workload}|optimizers|{loss}|
{dtype}"`` so that the medians sit side by side:

    python -m pytest bench/test_bench_optimizers.py --benchmark-only

The default (benchmarks disabled) run does each case once on small data and checks that
``n_evals_`` and ``history_`` are consistent.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fastnet import Network, optim
from fastnet.data import WORKLOADS, workload_data

#: The optimizers timed, with step sizes that keep M stable for the timed epochs.
OPTIMIZERS = {
    "gd": optim.GD(lr=0.5),
    "momentum": optim.Momentum(lr=0.1),
    "nesterov": optim.Momentum(lr=0.1, nesterov=True),
    "adam": optim.Adam(lr=0.01),
    "rprop": optim.Rprop(),
    "lbfgs": optim.LBFGS(),
}
EPOCHS = {"S": 200, "M": 20}
ROUNDS = 7


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("loss", ["mse", "log"])
@pytest.mark.parametrize("workload", ["S", "M"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_epoch_cost(benchmark, smoke, name, workload, loss, dtype):
    w = WORKLOADS[workload]
    if smoke:
        w = dataclasses.replace(w, n=200)
    X, y, weights = workload_data(w, dtype)
    epochs = 3 if smoke else EPOCHS[workload]
    opt = OPTIMIZERS[name]
    benchmark.group = f"{workload}|optimizers|{loss}|{np.dtype(dtype).name}"

    def fresh_network():  # untimed: every round starts from the same weights
        return (Network.from_weights(weights, loss=loss),), {}

    def fit(net):
        return net.fit(X, y, optimizer=opt, epochs=epochs, tol=None)

    net = benchmark.pedantic(fit, setup=fresh_network, rounds=ROUNDS, warmup_rounds=1)
    benchmark.extra_info.update(
        optimizer=name, workload=workload, loss=loss, dtype=np.dtype(dtype).name,
        epochs=net.n_epochs_, evaluations=net.n_evals_,
    )  # fmt: skip
    if not benchmark.disabled and benchmark.stats is not None:
        # the unit the comparison needs: seconds per loss+gradient evaluation
        benchmark.extra_info["ms_per_evaluation"] = (
            1e3 * benchmark.stats.stats.median / max(net.n_evals_, 1)
        )
    assert net.history_.dtype == dtype and np.isfinite(net.history_).all()
    assert net.n_evals_ >= net.n_epochs_ >= 1
