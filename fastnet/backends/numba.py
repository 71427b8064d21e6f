"""The ``numba`` backend: the fused kernels, through ``fastnet._engine.Engine``.

``X`` is a checked dense ``(n, d)`` array or a checked CSR matrix (``Network``'s
``check_X(..., sparse=True)``); the kernels multiply a sparse one sparsely."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._engine import Engine, kernel_input


class NumbaBackend:
    """Fused compiled kernels; each call borrows an ``Engine`` (buffers for its data size) from
    the engines' pool and gives it back when done."""

    name = "numba"

    def __init__(self, layers: Sequence[int], dtype: np.dtype, output: str = "sigmoid") -> None:
        self.layers = tuple(layers)
        self.dtype = np.dtype(dtype)
        self.output = output

    def runner(self, params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state,
               sample_weight=None, alpha=0.0, validation=None):  # fmt: skip
        engine = Engine.acquire(self.layers, X.shape[0], self.dtype)
        try:
            run = engine.trainer(params, kernel_input(X), Y.ravel(), loss.kernel, optimizer, vec,
                                 scal, tol, n_iter_no_change, stop_state,
                                 output=loss.output_code, weights=sample_weight,
                                 alpha=alpha, loss_w=loss.weighted,
                                 validation=validation)  # fmt: skip
        except BaseException:
            engine.release()
            raise
        run.close = engine.release  # ``drive`` calls it when training ends
        return run

    def loss_grad(self, params, X, Y, loss, sample_weight=None, alpha=0.0):
        n = X.shape[0]
        engine = Engine.acquire(self.layers, n, self.dtype)
        try:
            J, g = engine.loss_grad(params, kernel_input(X), Y.ravel(), loss.kernel, None,
                                    output=loss.output_code, weights=sample_weight,
                                    alpha=alpha, loss_w=loss.weighted)  # fmt: skip
            return J, g.copy()
        finally:
            engine.release()

    def predict(self, params, X):
        """The ``(n, k)`` output activations (a sigmoid output by the ``predict`` kernel, the
        others from the logits)."""
        if self.output == "sigmoid":
            return self._predict(params, X, logits=False)
        Z = self.logits(params, X)
        if self.output == "linear":
            return Z
        with np.errstate(under="ignore"):
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def logits(self, params, X):
        """The ``(n, k)`` output logits (before the output activation)."""
        return self._predict(params, X, logits=True)

    def _predict(self, params, X, logits: bool):
        """The ``predict`` kernel's ``(n, k)`` outputs: activations, or ``logits``."""
        n = X.shape[0]
        engine = Engine.acquire(self.layers, n, self.dtype)
        try:
            return engine.predict(params, kernel_input(X), logits=logits).reshape(n, -1)
        finally:
            engine.release()
