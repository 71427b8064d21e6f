"""``python -m fastnet compile``: compile every kernel once, ahead of the first ``fit``.

numba compiles fastnet's kernels on first use and keeps them in its disk cache
(``cache=True``; ``NUMBA_CACHE_DIR``, else ``__pycache__`` beside the package). The first use
after an install therefore costs tens of seconds (the training kernels, ``predict``, L-BFGS's
kernel, each per dtype); every later process loads them in well under a second. ``compile``
makes that one-time step explicit: run it after installing (or in a Docker build step), not
inside the first ``fit`` of a script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from . import _engine
from .losses import LOSSES
from .network import Network


def loss_output_pairs() -> list[tuple[str, str]]:
    """Every registered (loss, output layer) pair."""
    return [(name, output) for name, by_output in LOSSES.items() for output in by_output]


def small_network(loss: str, dtype, output: str = "sigmoid") -> Network:
    return Network((4, 3, 3 if output == "softmax" else 1), loss=loss, output=output, dtype=dtype)


def small_targets(X: np.ndarray, output: str) -> np.ndarray:
    if output == "softmax":  # three classes, one-hot
        return np.eye(3, dtype=X.dtype)[(X[:, 0] > 0).astype(np.intp) + (X[:, 1] > 0)]
    return (X[:, 0] > 0).astype(X.dtype)


def _steps() -> list[tuple[str, Callable]]:
    """What ``compile`` runs per dtype, in order: ``(step, call(X, dtype))``."""
    steps = [
        (f"fit {loss} ({output})",
         lambda X, dt, loss=loss, output=output: small_network(loss, dt, output).fit(
             X, small_targets(X, output), epochs=1, tol=None))
        for loss, output in loss_output_pairs()
    ]  # fmt: skip
    steps += [
        ("predict", lambda X, dt: small_network("log", dt).predict_proba(X)),
        ("predict (softmax)",
         lambda X, dt: small_network("cross_entropy", dt, "softmax").predict(X)),
        ("fit lbfgs", lambda X, dt: small_network("log", dt).fit(X, small_targets(X, "sigmoid"),
                                                          optimizer="lbfgs", epochs=2)),
        ("loss_and_gradients", lambda X, dt: small_network("mse", dt).loss_and_gradients(
            X, small_targets(X, "sigmoid"))),
        ("fit with validation_data", lambda X, dt: _fit_validated(X, dt)),
    ]  # fmt: skip
    # The variants that spread rows over threads (problems above PARALLEL_MIN_WORK)
    steps += [
        (f"{step} (parallel)", _parallel(call))
        for step, call in steps
        if step in ("fit log (sigmoid)", "predict", "fit lbfgs", "fit with validation_data")
    ]
    return steps


def _fit_validated(X: np.ndarray, dt) -> Network:
    y = small_targets(X, "sigmoid")
    return small_network("log", dt).fit(X, y, epochs=2, validation_data=(X, y),
                                        early_stopping=True)  # fmt: skip


def _parallel(call: Callable) -> Callable:
    """``call`` with every problem above ``_engine.PARALLEL_MIN_WORK`` (on 1 more row, so that
    the engines of the serial steps are not reused)."""

    def run(X, dt):
        before = _engine.PARALLEL_MIN_WORK
        _engine.PARALLEL_MIN_WORK = 0
        try:
            return call(np.concatenate([X, X[:1]]), dt)
        finally:
            _engine.PARALLEL_MIN_WORK = before

    return run


def compile_all(
    dtypes: Iterable = (np.float64, np.float32),
    report: Callable[[str, float], None] | None = None,
) -> float:
    """Compile (or load from the disk cache) every kernel for ``dtypes`` and every registered
    loss and output layer; returns the seconds taken. ``report(step, seconds)`` is called after
    each step."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for dtype in dtypes:
        X = rng.standard_normal((64, 4)).astype(dtype)
        for step, call in _steps():
            t = time.perf_counter()
            call(X, np.dtype(dtype))
            if report is not None:
                report(f"{step} ({np.dtype(dtype).name})", time.perf_counter() - t)
    return time.perf_counter() - started
