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

from .losses import LOSSES
from .network import Network

#: What ``compile`` runs per dtype, in order: ``(step, call(X, y, dtype))``.
STEPS: tuple[tuple[str, Callable], ...] = (
    *(
        (f"fit {loss}", lambda X, y, dt, loss=loss: _net(loss, dt).fit(X, y, epochs=1, tol=None))
        for loss in LOSSES
    ),
    ("predict", lambda X, y, dt: _net("log", dt).predict_proba(X)),
    ("fit lbfgs", lambda X, y, dt: _net("log", dt).fit(X, y, optimizer="lbfgs", epochs=2)),
    ("loss_and_gradients", lambda X, y, dt: _net("mse", dt).loss_and_gradients(X, y)),
)


def _net(loss: str, dtype) -> Network:
    return Network((4, 3, 1), loss=loss, dtype=dtype)


def compile_all(
    dtypes: Iterable = (np.float64, np.float32),
    report: Callable[[str, float], None] | None = None,
) -> float:
    """Compile (or load from the disk cache) every kernel for ``dtypes``; returns the seconds
    taken. ``report(step, seconds)`` is called after each step."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for dtype in dtypes:
        X = rng.standard_normal((64, 4)).astype(dtype)
        y = (X[:, 0] > 0).astype(dtype)
        for step, call in STEPS:
            t = time.perf_counter()
            call(X, y, np.dtype(dtype))
            if report is not None:
                report(f"{step} ({np.dtype(dtype).name})", time.perf_counter() - t)
    return time.perf_counter() - started
