"""A busy machine (issue 14, item 1): training while one other process holds a core.

Every case of group ``contention|<workload>`` runs with one competing busy process (a Python
loop, started for this module and stopped after it): fastnet with its default threads,
fastnet held to one thread (``fastnet.set_threads(1)``), and the NumPy baseline, on S, M and
a digits-sized problem (1,797 x 64, one hidden layer of 16, as ``load_digits``)::

    flock /tmp/fastnet-bench.lock python -m pytest bench/test_bench_contention.py --benchmark-only

The acceptance: default threads at least as fast as one thread, and at least 5x NumPy on S and
M. The default (benchmarks disabled) run does each case once, on fewer epochs, and checks the
three give the same history (one thread and all threads bit for bit).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fastnet
from fastnet import Network
from fastnet.data import WORKLOADS, initial_weights, workload_data

IMPLEMENTATIONS = ("fastnet", "fastnet 1 thread", "numpy")
#: (epochs timed, epochs in the smoke run)
EPOCHS = {"S": (200, 20), "M": (20, 2), "digits": (100, 10)}


@pytest.fixture(scope="module")
def busy():
    """One other process spinning on a core for the whole module."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()


def _problem(name):
    if name == "digits":
        rng = np.random.default_rng(0)
        X = rng.standard_normal((1797, 64))
        y = (X[:, :8].sum(axis=1) > 0).astype(np.float64)
        return X, y, initial_weights((64, 16, 1)), 0.5
    w = WORKLOADS[name]
    X, y, weights = workload_data(w)
    return X, y, weights, w.lr


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("workload", list(EPOCHS))
def test_fit_under_contention(benchmark, smoke, busy, workload, implementation):
    X, y, weights, lr = _problem(workload)
    epochs = EPOCHS[workload][1 if smoke else 0]
    backend = "numpy" if implementation == "numpy" else "numba"
    benchmark.group = f"contention|{workload}"
    benchmark.extra_info.update(workload=workload, implementation=implementation, epochs=epochs)
    previous = fastnet.set_threads(1 if implementation == "fastnet 1 thread" else None)

    def fresh():
        return (Network.from_weights(weights, loss="log", backend=backend),), {}

    def fit(net):
        return net.fit(X, y, lr=lr, epochs=epochs, tol=None)

    try:
        net = benchmark.pedantic(fit, setup=fresh, rounds=1 if smoke else 5, warmup_rounds=1)
    finally:
        fastnet.set_threads(previous)
    assert busy.poll() is None  # the competitor was running throughout
    reference = Network.from_weights(weights, loss="log").fit(X, y, lr=lr, epochs=epochs, tol=None)
    if backend == "numba":  # the thread count changes no number
        np.testing.assert_array_equal(net.history_, reference.history_)
    else:
        np.testing.assert_allclose(net.history_, reference.history_, rtol=1e-10)
