"""What the block mechanism costs: the S workload with no callback vs a no-op callback.

``Network.fit`` returns to Python between compiled blocks of epochs (10 epochs, then blocks
sized to take ~0.1 s), where it runs the ``callback`` (if any) and checks for Ctrl-C. Both
cases share the pytest-benchmark group ``"S|callbacks"``, so their medians sit side by side:

    flock /tmp/fastnet-bench.lock python -m pytest bench/test_bench_callbacks.py --benchmark-only

The default (benchmarks disabled) run does each case once on 200 epochs and checks that the
callback leaves the trajectory bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnet import Network
from fastnet.data import WORKLOADS, workload_data

ROUNDS = 15


def _noop(epochs_done, loss):
    return None


@pytest.mark.parametrize("loss", ["mse", "log"])
@pytest.mark.parametrize("callback", ["none", "noop"])
def test_fit_S_with_and_without_callback(benchmark, callback, loss):
    w = WORKLOADS["S"]
    X, y, weights = workload_data(w)
    epochs = 200 if benchmark.disabled else w.epochs
    options = {"callback": _noop} if callback == "noop" else {}
    benchmark.group = "S|callbacks"
    benchmark.extra_info.update(
        workload="S", loss=loss, dtype="float64", callback=callback, epochs=epochs
    )  # fmt: skip

    def fresh_network():  # untimed: every round starts from the same weights
        return (Network.from_weights(weights, loss=loss),), {}

    def fit(net):
        return net.fit(X, y, lr=w.lr, epochs=epochs, tol=None, **options)

    net = benchmark.pedantic(fit, setup=fresh_network, rounds=ROUNDS, warmup_rounds=1)

    assert net.n_epochs_ == epochs
    if callback == "noop":
        plain = Network.from_weights(weights, loss=loss).fit(
            X, y, lr=w.lr, epochs=epochs, tol=None
        )
        np.testing.assert_array_equal(net.history_, plain.history_)
        np.testing.assert_array_equal(net.weights[0][0], plain.weights[0][0])
