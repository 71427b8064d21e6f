"""The kernel design decisions of issue 4, one benchmark group per decision.

Each group times the variants of one decision side by side on the same case, so the choice in
``fastnet/_engine.py`` / ``fastnet/_kernels.py`` can be re-measured on any machine::

    pytest bench/test_bench_variants.py --benchmark-only

* ``products``: layer products by BLAS (``np.dot`` on row blocks) vs explicit loops
  (``_engine.BLAS_MIN_WEIGHTS``).
* ``rows``: rows per block for BLAS layers (``_engine.block_rows``; the variants set
  ``_engine.ROWS_BLAS``).
* ``threads``: one numba thread vs all of them (``_engine.PARALLEL_MIN_WORK``).
* ``sigmoid``: the vectorisable exp with FMA contraction and 512-bit vectors (what the kernels
  use), the same with 256-bit vectors (``_kernels.WIDE_VECTORS``), without contraction, and a
  plain ``np.exp`` loop (libm, scalar).
* ``log loss``: ``losses.log_loss`` (vectorisable ``log1p(exp(-|z|))``) vs libm's scalar calls.

The smoke pass (benchmarks disabled) runs every variant once on small data and checks that the
variants agree, so none of them can rot.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fastnet import _engine, _kernels, losses
from fastnet._jit import JIT_OPTIONS
from fastnet.benchmarks import IMPLEMENTATIONS, dtype_name, smoke_workload
from fastnet.data import WORKLOADS

CASES = [
    pytest.param("S", "log", np.float64, id="S-log-float64"),
    pytest.param("M", "log", np.float64, id="M-log-float64"),
    pytest.param("M", "log", np.float32, id="M-log-float32"),
    pytest.param("L", "mse", np.float64, id="L-mse-float64", marks=pytest.mark.slow),
]


def _run(benchmark, smoke, workload, loss, dtype):
    """Time one training run of the case; return its loss history (compiled beforehand)."""
    w = smoke_workload(WORKLOADS[workload]) if smoke else WORKLOADS[workload]
    run = IMPLEMENTATIONS["fastnet"](w, loss, dtype)
    run()  # compile or load the kernels outside the timed rounds
    benchmark.extra_info.update(epochs=w.epochs)
    return benchmark.pedantic(run, rounds=3 if w.epochs < 100 else 5, warmup_rounds=1)


@pytest.mark.parametrize("variant", ["blas", "loops"])
@pytest.mark.parametrize(("workload", "loss", "dtype"), CASES)
def test_products(benchmark, smoke, monkeypatch, workload, loss, dtype, variant):
    monkeypatch.setattr(_engine, "BLAS_MIN_WEIGHTS", 0 if variant == "blas" else 2**62)
    benchmark.group = f"products|{workload}|{loss}|{dtype_name(dtype)}"
    history = _run(benchmark, smoke, workload, loss, dtype)
    assert np.isfinite(history).all()


@pytest.mark.parametrize("rows", [64, 128, 256, 512])
@pytest.mark.parametrize(("workload", "loss", "dtype"), CASES)
def test_rows(benchmark, smoke, monkeypatch, workload, loss, dtype, rows):
    monkeypatch.setattr(_engine, "ROWS_BLAS", rows)
    benchmark.group = f"rows|{workload}|{loss}|{dtype_name(dtype)}"
    history = _run(benchmark, smoke, workload, loss, dtype)
    assert np.isfinite(history).all()


@pytest.mark.parametrize("variant", ["one-thread", "all-threads"])
@pytest.mark.parametrize(("workload", "loss", "dtype"), CASES)
def test_threads(benchmark, smoke, monkeypatch, workload, loss, dtype, variant):
    threaded = variant == "all-threads"
    monkeypatch.setattr(_engine, "PARALLEL_MIN_WORK", 0 if threaded else 2**62)
    benchmark.group = f"threads|{workload}|{loss}|{dtype_name(dtype)}"
    benchmark.extra_info.update(threads=numba.get_num_threads() if threaded else 1)
    history = _run(benchmark, smoke, workload, loss, dtype)
    # chunks do not depend on the thread count: one thread and all give bit-identical results
    monkeypatch.setattr(_engine, "PARALLEL_MIN_WORK", 2**62 if threaded else 0)
    w = smoke_workload(WORKLOADS[workload]) if smoke else WORKLOADS[workload]
    np.testing.assert_array_equal(history, IMPLEMENTATIONS["fastnet"](w, loss, dtype)())


# ----------------------------------------------------------------------------- sigmoid
def _libm(buf, b, z, keep_z):
    fo = b.shape[0]
    for i in range(buf.shape[0]):
        buf[i] = 1 / (1 + np.exp(-(buf[i] + b[i % fo])))


#: variant -> (float64 code, float32 code, fastmath flags, 512-bit vectors allowed)
SIGMOIDS = {
    "vectorised+fma": (_kernels._sigmoid_f64, _kernels._sigmoid_f32, {"contract"}, True),
    "vectorised+fma-256bit": (_kernels._sigmoid_f64, _kernels._sigmoid_f32, {"contract"}, False),
    "vectorised": (_kernels._sigmoid_f64, _kernels._sigmoid_f32, False, True),
    "libm": (_libm, _libm, False, True),
}


@numba.njit(error_model="numpy")
def _repeat(kernel, z, buf, bias, logits, reps):
    """``reps`` sigmoids of ``z`` in compiled code (a Python call per sigmoid would dominate)."""
    for _ in range(reps):
        for i in range(z.shape[0]):
            buf[i] = z[i]
        kernel(buf, bias, logits, False)


@pytest.mark.parametrize("variant", list(SIGMOIDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=dtype_name)
def test_sigmoid(benchmark, monkeypatch, variant, dtype):
    """100 sigmoids of one row block of a 128-wide layer (256 x 128 values)."""
    f64, f32, fastmath, wide = SIGMOIDS[variant]
    monkeypatch.setattr(_kernels, "WIDE_VECTORS", wide)  # read while compiling, just below
    kernel = numba.njit(**{**JIT_OPTIONS, "cache": False, "fastmath": fastmath})(
        f64 if dtype == np.float64 else f32
    )
    n = 256 * 128
    z = np.random.default_rng(0).standard_normal(n).astype(dtype) * 4
    # buffers laid out as the Engine lays them out (staggered within a page: no 4K aliasing)
    buf, logits = (a[0, :n] for a in _engine._scratch(1, [(n, dtype), (n, dtype)]))
    bias = np.zeros(128, dtype)
    _repeat(kernel, z, buf, bias, logits, 1)  # compile outside the timed rounds
    benchmark.group = f"sigmoid|100x256x128|{dtype_name(dtype)}"
    benchmark(_repeat, kernel, z, buf, bias, logits, 100)
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    ulps = np.abs(buf - exact.astype(dtype)) / np.spacing(exact.astype(dtype))
    assert ulps.max() <= 4


# ----------------------------------------------------------------------------- log loss
@numba.njit(error_model="numpy")
def _log_loss_libm(z, p, y, delta):
    """The log loss by libm's scalar ``log1p`` and ``exp``: what ``losses.log_loss`` replaced."""
    total = 0.0
    for i in range(p.shape[0]):
        zi = z[i]
        total += max(zi, 0.0) - y[i] * zi + np.log1p(np.exp(-abs(zi)))
        delta[i] = p[i] - y[i]
    return total


@numba.njit(error_model="numpy")
def _repeat_loss(loss, z, p, y, delta, reps):
    total = 0.0
    for _ in range(reps):
        total += loss(z, p, y, delta)
    return total


@pytest.mark.parametrize("variant", ["vectorised", "libm"])
def test_log_loss(benchmark, variant):
    """100 log losses of 1000 outputs (one S epoch's worth), float64."""
    loss = losses.log_loss if variant == "vectorised" else _log_loss_libm
    rng = np.random.default_rng(0)
    z = rng.standard_normal(1000) * 4
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(1000) < 0.5).astype(np.float64)
    delta = np.empty(1000)
    _repeat_loss(loss, z, p, y, delta, 1)  # compile outside the timed rounds
    benchmark.group = "log loss|100x1000|float64"
    total = benchmark(_repeat_loss, loss, z, p, y, delta, 100)
    assert total == pytest.approx(100 * _log_loss_libm(z, p, y, np.empty(1000)), rel=1e-13)
