"""Training speed: every implementation on every workload (docs/design.md section 4), loss and
dtype.

``pytest bench/ --benchmark-only`` times them (``-m "not slow"`` leaves out L and Deep); all
implementations of one case share a pytest-benchmark group ``"{workload}|{loss}|{dtype}"``.
The default ``pytest`` run executes each case once on small data and checks that every
implementation computes the same loss history as the NumPy baseline.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnet.benchmarks import (
    BASELINE,
    IMPLEMENTATIONS,
    SLOW_WORKLOADS,
    cases,
    dtype_name,
    smoke_workload,
    unavailable,
)
from fastnet.data import WORKLOADS
from fastnet.report import ROUNDS

#: Smoke-pass agreement with the NumPy baseline (a few epochs on 200 rows).
RTOL = {"float64": 1e-10, "float32": 1e-5}

CASES = [
    pytest.param(
        *(w, loss, dtype, impl),
        id=f"{w}-{loss}-{dtype_name(dtype)}-{impl}",
        marks=[pytest.mark.slow] if w in SLOW_WORKLOADS else [],
    )
    for w, loss, dtype in cases()
    for impl in IMPLEMENTATIONS
]


@pytest.mark.parametrize(("workload", "loss", "dtype", "impl"), CASES)
def test_train(benchmark, smoke, workload, loss, dtype, impl):
    reason = unavailable(impl)
    if reason:
        pytest.skip(reason)
    w = smoke_workload(WORKLOADS[workload]) if smoke else WORKLOADS[workload]
    run = IMPLEMENTATIONS[impl](w, loss, dtype)  # data and weights: never timed
    benchmark.group = f"{workload}|{loss}|{dtype_name(dtype)}"
    benchmark.extra_info.update(
        implementation=impl, workload=workload, loss=loss, dtype=dtype_name(dtype),
        epochs=w.epochs, n=w.n,
    )  # fmt: skip
    # One untimed warm-up call compiles (numba, jax.jit) before the timed rounds.
    history = benchmark.pedantic(run, rounds=ROUNDS[workload], warmup_rounds=1)

    assert history.shape == (w.epochs,)
    assert np.isfinite(history).all()
    if smoke and impl != BASELINE:
        expected = IMPLEMENTATIONS[BASELINE](w, loss, dtype)()
        np.testing.assert_allclose(history, expected, rtol=RTOL[dtype_name(dtype)])
