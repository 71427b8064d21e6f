"""The ``numba`` backend: the fused kernels, through ``fastnet._engine.Engine``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._engine import Engine


class NumbaBackend:
    """Fused compiled kernels; buffers are allocated once per call of ``runner``."""

    name = "numba"

    def __init__(self, layers: Sequence[int], dtype: np.dtype) -> None:
        self.layers = tuple(layers)
        self.dtype = np.dtype(dtype)

    def _engine(self, n: int) -> Engine:
        return Engine(self.layers, n, self.dtype)

    def runner(self, params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state):
        engine = self._engine(X.shape[0])
        return engine.trainer(params, X.ravel(), Y.ravel(), loss.kernel, optimizer, vec, scal,
                              tol, n_iter_no_change, stop_state)  # fmt: skip

    def loss_grad(self, params, X, Y, loss):
        n = X.shape[0]
        J, g = self._engine(n).loss_grad(params, X.ravel(), Y.ravel(), loss.kernel, 1.0 / n)
        return J, g.copy()

    def predict(self, params, X):
        n = X.shape[0]
        return self._engine(n).predict(params, X.ravel()).reshape(n, -1)
