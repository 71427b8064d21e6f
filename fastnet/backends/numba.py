"""The ``numba`` backend: the fused kernels, through ``fastnet._engine.Engine``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._engine import Engine


class NumbaBackend:
    """Fused compiled kernels; each call borrows an ``Engine`` (buffers for its data size) from
    the engines' pool and gives it back when done."""

    name = "numba"

    def __init__(self, layers: Sequence[int], dtype: np.dtype) -> None:
        self.layers = tuple(layers)
        self.dtype = np.dtype(dtype)

    def runner(self, params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state):
        engine = Engine.acquire(self.layers, X.shape[0], self.dtype)
        try:
            run = engine.trainer(params, X.ravel(), Y.ravel(), loss.kernel, optimizer, vec,
                                 scal, tol, n_iter_no_change, stop_state)  # fmt: skip
        except BaseException:
            engine.release()
            raise
        run.close = engine.release  # ``drive`` calls it when training ends
        return run

    def loss_grad(self, params, X, Y, loss):
        n = X.shape[0]
        engine = Engine.acquire(self.layers, n, self.dtype)
        try:
            J, g = engine.loss_grad(params, X.ravel(), Y.ravel(), loss.kernel, 1.0 / n)
            return J, g.copy()
        finally:
            engine.release()

    def predict(self, params, X):
        n = X.shape[0]
        engine = Engine.acquire(self.layers, n, self.dtype)
        try:
            return engine.predict(params, X.ravel()).reshape(n, -1)
        finally:
            engine.release()
