"""The ``numpy`` backend: the textbook maths of ``fastnet.reference``, driven from Python.

``python_runner`` is the epoch loop of every backend whose loss and gradient come from a Python
call (this one, and the Dask backend's cluster round trip): the optimizer's update is
``reference``'s, on the same state layout as the kernels' (``fastnet.optim``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import reference
from .._layout import Layout
from ..optim import ADAM_CODE, GD_CODE, LBFGS_CODE, RPROP_CODE, Optimizer
from . import CONVERGED, DIVERGED, R2, RAN_ALL, EvaluationError, Validation

LossGrad = Callable[[np.ndarray], tuple[np.floating, np.ndarray]]
Validate = Callable[[np.ndarray], tuple[float, float]]


def stopping_rule(state: np.ndarray, loss: float, tol: float, n_iter_no_change: int) -> bool:
    """scikit-learn's rule, as in ``_kernels.stop_rule``, for the runners written in Python.

    ``state = [best_loss, epochs_without_improvement]`` is updated with this epoch's ``loss``
    (the count grows when ``loss > best - tol`` and is reset to 0 otherwise; then ``best`` is
    lowered to ``loss``); ``tol < 0`` disables the rule. True when training should stop: once
    the count exceeds ``n_iter_no_change``, as in scikit-learn.
    """
    if tol < 0:
        return False
    state[1] = state[1] + 1 if loss > state[0] - tol else 0
    state[0] = min(state[0], loss)
    return state[1] > n_iter_no_change


def held_out_score(validation: Validation, P: np.ndarray, softmax: bool) -> float:
    """``validation.metric``'s score of the outputs ``P`` ``(n_v, k)`` (as ``_kernels.validate``
    computes it): scikit-learn's weighted accuracy (of the arg-max for a ``softmax`` output),
    or its R^2 averaged over the outputs."""
    Y = validation.Y
    w = np.ones(len(Y)) if validation.weights is None else validation.weights.astype(np.float64)
    total = validation.vstate[2]
    if validation.metric == R2:
        ss_res = (w[:, None] * (P.astype(np.float64) - Y) ** 2).sum(axis=0)
        return reference.r2_from_sums(ss_res, validation.vstate[4:])
    if softmax:
        right = np.argmax(P, axis=1) == np.argmax(Y, axis=1)
    else:
        right = np.all((P > 0.5) == (Y > 0.5), axis=1)
    return float(np.dot(w, right) / total)


def end_epoch(validation: Validation | None, validate: Validate | None, params, e: int,
              loss: float, state, tol: float, n_iter_no_change: int) -> bool:  # fmt: skip
    """``_kernels.end_epoch`` for the runners written in Python: record the held-out loss and
    score of ``params`` (the end of the runner's epoch ``e``), and say whether to stop."""
    if validation is None:
        return stopping_rule(state, loss, tol, n_iter_no_change)
    vloss, score = validate(params)
    validation.record[e] = vloss, score
    v = validation.vstate
    v[3] = score
    if not validation.early:
        return stopping_rule(state, loss, tol, n_iter_no_change)
    if tol >= 0:
        v[1] = v[1] + 1 if score < v[0] + tol else 0
    if score > v[0]:
        v[0] = score
        validation.pbest[...] = params
    return tol >= 0 and v[1] > n_iter_no_change


def python_update(optimizer: Optimizer, p, g, vec, scal):
    """``(new_params, new_vec)`` of one first-order update (new arrays); ``scal[0]`` counts
    the updates so far."""
    h = optimizer.hyper()
    n = p.shape[0]
    code = optimizer.code
    if code == GD_CODE:
        return reference.gd_step(p, g, h[0]), vec
    if code == ADAM_CODE:
        p_new, m, v = reference.adam_step(p, g, vec[:n], vec[n:], scal[0] + 1, *h)
        return p_new, np.concatenate([m, v])
    if code == RPROP_CODE:
        p_new, step, prev = reference.rprop_step(p, g, vec[:n], vec[n:], *h[1:])
        return p_new, np.concatenate([step, prev])
    return reference.momentum_step(p, g, vec, h[0], h[1], optimizer.nesterov)


def python_runner(
    loss_grad: LossGrad,
    params: np.ndarray,
    optimizer: Optimizer,
    vec: np.ndarray,
    scal: np.ndarray,
    tol: float,
    n_iter_no_change: int,
    stop_state: np.ndarray,
    validation: Validation | None = None,
    validate: Validate | None = None,
):
    """``run(epochs, hist) -> (epochs_run, status)`` over a Python ``loss_grad(params)``;
    with a ``validation``, ``validate(params) -> (held-out loss, score)`` after each epoch.

    An ``EvaluationError`` of ``loss_grad`` becomes a ``RuntimeError`` naming the epoch that
    failed, with ``epochs_run`` (this block's completed epochs) for the driver's ``history_``.
    """
    applied = 0  # epochs completed by this runner, across blocks
    recorded = 0  # epochs whose held-out loss and score are recorded

    def run(epochs: int, hist: np.ndarray) -> tuple[int, int]:
        nonlocal applied
        for e in range(epochs):
            try:
                status = _epoch(e, hist)
            except EvaluationError as exc:
                error = RuntimeError(
                    f"epoch {applied + 1} failed: {exc}. The network keeps the weights of its "
                    f"last completed epoch ({applied})"
                )
                error.epochs_run = e
                raise error from exc
            if status is not None:
                if status[1] == CONVERGED:  # an L-BFGS minimum: ``params`` stay, validated
                    _end(hist[e])
                return status
            applied += 1
            if _end(hist[e]):
                return e + 1, CONVERGED
        return epochs, RAN_ALL

    def _end(loss) -> bool:
        nonlocal recorded
        stop = end_epoch(validation, validate, params, recorded, loss, stop_state, tol,
                         n_iter_no_change)  # fmt: skip
        recorded += 1
        return stop

    def _epoch(e: int, hist: np.ndarray):
        if optimizer.code == LBFGS_CODE:
            try:
                f, outcome = reference.lbfgs_iteration(
                    loss_grad, params, vec, scal, optimizer.history, optimizer.max_line_search
                )
            except FloatingPointError:
                return e, DIVERGED
            hist[e] = f
            return (e + 1, CONVERGED) if outcome == "stuck" else None
        J, g = loss_grad(params)
        if not np.isfinite(J):
            return e, DIVERGED
        hist[e] = J
        with np.errstate(over="ignore", invalid="ignore"):
            p_new, vec_new = python_update(optimizer, params, g, vec, scal)
        if not (np.isfinite(p_new).all() and np.isfinite(g).all()):
            return e + 1, DIVERGED
        params[...] = p_new
        vec[...] = vec_new
        scal[0] += 1
        return None

    return run


class NumpyBackend:
    """The textbook NumPy baseline (``fastnet.reference``): shares no maths with the kernels."""

    name = "numpy"

    def __init__(self, layers: Sequence[int], dtype: np.dtype, output: str = "sigmoid") -> None:
        self.layout = Layout.from_sizes(layers)
        self.dtype = np.dtype(dtype)
        self.output = output

    def loss_grad(self, params, X, Y, loss, sample_weight=None, alpha=0.0):
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are checked
            J, grads = reference.loss_and_gradients(
                self.layout.views(params), X, Y, loss.reference, loss.output,
                sample_weight=sample_weight, alpha=alpha,
            )  # fmt: skip
        return self.dtype.type(J), self.layout.flatten(grads, self.dtype)

    def runner(self, params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state,
               sample_weight=None, alpha=0.0, validation=None):  # fmt: skip
        def loss_grad(p):
            return self.loss_grad(p, X, Y, loss, sample_weight, alpha)

        return python_runner(loss_grad, params, optimizer, vec, scal, tol, n_iter_no_change,
                             stop_state, validation, self.validator(validation, loss))  # fmt: skip

    def validator(self, validation: Validation | None, loss) -> Validate | None:
        """``validate(params) -> (loss, score)`` on the held-out rows, by the textbook maths."""
        if validation is None:
            return None

        def validate(p):
            activations, z = reference.forward(self.layout.views(p), validation.X, self.output)
            P = activations[-1]
            if self.output == "softmax":
                z = reference.log_softmax(z)
            total = reference.summed_loss(loss.reference, z, P, validation.Y, np.empty_like(P),
                                          validation.weights)  # fmt: skip
            score = held_out_score(validation, P, self.output == "softmax")
            return float(total) / validation.vstate[2], score

        return validate

    def predict(self, params, X):
        activations, _ = reference.forward(self.layout.views(params), X, self.output)
        return activations[-1]

    def logits(self, params, X):
        """The ``(n, k)`` output logits (before the output activation)."""
        return reference.forward(self.layout.views(params), X, self.output)[1]
