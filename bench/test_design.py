"""One benchmark per kernel design decision, so each can be re-measured.

Each group compares the variants of one decision on the same case; run them with
``pytest bench/test_design.py --benchmark-only``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fastnet.benchmarks import IMPLEMENTATIONS, dtype_name, smoke_workload
from fastnet.data import WORKLOADS

DESIGN_CASES = [("S", "mse", np.float64), ("M", "mse", np.float64), ("M", "log", np.float32)]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize(
    ("workload", "loss", "dtype"),
    DESIGN_CASES,
    ids=[f"{w}-{loss}-{dtype_name(d)}" for w, loss, d in DESIGN_CASES],
)
def test_threads(benchmark, smoke, threads, workload, loss, dtype, n_threads):
    """Row chunks spread over threads with ``prange``: 1 thread vs 2."""
    if n_threads > threads:
        pytest.skip(f"numba has only {threads} thread(s) here (NUMBA_NUM_THREADS)")
    w = smoke_workload(WORKLOADS[workload]) if smoke else WORKLOADS[workload]
    run = IMPLEMENTATIONS["fastnet"](w, loss, dtype)
    numba.set_num_threads(n_threads)
    benchmark.group = f"threads|{workload}|{loss}|{dtype_name(dtype)}"
    benchmark.extra_info.update(decision="threads", threads=n_threads, epochs=w.epochs)
    history = benchmark.pedantic(run, rounds=3, warmup_rounds=1)

    # The chunking depends on n only, so any thread count gives bit-identical results.
    numba.set_num_threads(1)
    np.testing.assert_array_equal(history, run())
