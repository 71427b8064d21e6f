"""``Network``: a feed-forward sigmoid network trained by full-batch gradient descent."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import optim, reference
from ._diagnostics import MIN_EPOCHS, FitWarning, diagnose
from ._layout import Layout, Weights
from ._training import DivergedError, Outcome, drive
from ._validation import (
    as_float_array,
    check_backend,
    check_bool,
    check_class_targets,
    check_dtype,
    check_float,
    check_int,
    check_layers,
    check_n_iter_no_change,
    check_outputs,
    check_sample_weight,
    check_X,
    check_y,
    is_dask_array,
    is_sparse,
    to_array,
    weights_dtype,
)
from .backends import ACCURACY, DIVERGED, R2, Validation, get_backend
from .losses import Loss, check_output, get_loss

__all__ = ["DivergedError", "FitWarning", "Network"]


class _Unset:
    """``lr``'s default: GD's own ``lr`` (0.5), or that of the optimizer named."""

    def __repr__(self) -> str:
        return "<optimizer's default>"


_UNSET = _Unset()


def _initial_params(layers: Sequence[int], seed: int | None, dtype: np.dtype) -> np.ndarray:
    """Seeded default initialisation, the same on every backend.

    ``W_l = default_rng(seed).standard_normal((fan_in, fan_out)) / sqrt(fan_in)`` drawn layer by
    layer in float64 (then cast), and zero biases.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for fi, fo in zip(layers[:-1], layers[1:], strict=False):
        parts.append((rng.standard_normal((fi, fo)) / np.sqrt(fi)).ravel())
        parts.append(np.zeros(fo))
    return np.concatenate(parts).astype(dtype)


class Network:
    """A fully connected network of sigmoid hidden layers and a sigmoid, softmax or linear
    output layer.

    Parameters
    ----------
    layers : sequence of int
        Layer widths ``(d, h1, ..., hL, k)``: ``d`` inputs, any number of hidden layers, ``k``
        outputs.
    loss : str
        ``"mse"`` (alias ``"squared_error"``): ``J = mean_i sum_j (p_ij - y_ij)^2`` (sigmoid
        or linear output).
        ``"log"`` (aliases ``"bce"``, ``"binary_crossentropy"``, ``"log_loss"``): binary
        cross-entropy, computed from the logits so it is finite for any finite input (sigmoid
        output).
        ``"cross_entropy"`` (aliases ``"categorical_crossentropy"``,
        ``"softmax_cross_entropy"``): ``J = -mean_i sum_j y_ij log p_ij`` from the logits by
        the log-sum-exp shift (softmax output).
        ``"huber"``: Huber loss with delta 1 (linear output).
        Or a name ``fastnet.register_loss`` registered.
    output : {"sigmoid", "softmax", "linear"}
        The output layer (hidden layers are sigmoids): ``"sigmoid"`` (targets in [0, 1]),
        ``"softmax"`` (``k >= 2`` classes; targets integer labels ``0..k-1`` of shape ``(n,)``
        or probability rows ``(n, k)``) or ``"linear"`` (the identity: any real targets).
    dtype : np.float64 or np.float32
        Precision of weights, data, gradients and history. float32 never upcasts.
    seed : int or None
        Seed of the default initialisation (see ``_initial_params``): the same seed gives the
        same weights on every backend.
    backend : {"numba", "numpy"}
        ``"numba"``: the fused compiled kernels. ``"numpy"``: the textbook NumPy baseline.
    """

    def __init__(
        self,
        layers: Sequence[int],
        loss: str = "mse",
        dtype: type | str | np.dtype = np.float64,
        seed: int | None = 0,
        backend: str = "numba",
        output: str = "sigmoid",
    ) -> None:
        if seed is not None:
            check_int(seed, "seed", 0)
        self._setup(check_layers(layers), loss, dtype, backend, output)
        self._params = _initial_params(self._layers, seed, self._dtype)

    def _setup(
        self, layers: tuple[int, ...], loss: str, dtype: object, backend: str, output: object
    ) -> None:
        resolved = get_loss(loss, check_output(output))
        if output == "softmax" and layers[-1] < 2:
            raise ValueError(
                f"output='softmax' needs at least 2 outputs (classes), got layers[-1] = "
                f"{layers[-1]}: use output='sigmoid' for one output"
            )
        self._layers = layers
        self._loss_name = resolved.name
        self._output_name = output
        self._dtype = check_dtype(dtype)
        self._backend = check_backend(backend)
        self._layout = Layout.from_sizes(layers)
        self._optimizer: optim.Optimizer | None = None
        self._opt_vec = np.empty(0, self._dtype)
        self._opt_scal = np.empty(0)
        self.n_evals_ = 0
        self.history_: np.ndarray = np.empty(0, self._dtype)
        self.n_epochs_ = 0
        self.converged_ = False
        self._no_validation()

    def _no_validation(self) -> None:
        """The held-out attributes of a fit without ``validation_data``."""
        self.validation_history_: np.ndarray = np.empty(0, self._dtype)
        self.validation_scores_: np.ndarray = np.empty(0)
        self.best_validation_score_: float | None = None

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[tuple[object, object]],
        loss: str = "mse",
        dtype: type | str | np.dtype | None = None,
        backend: str = "numba",
        output: str = "sigmoid",
    ) -> Network:
        """A network whose starting weights are exactly ``weights = [(W_1, b_1), ...]``.

        ``W_l`` has shape ``(fan_in, fan_out)`` and ``b_l`` shape ``(fan_out,)``. With
        ``dtype=None`` the weights' own floating dtype is used (they must all share it).
        """
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__iter__"):
            raise TypeError("weights must be a sequence of (W, b) pairs")
        pairs = list(weights)
        if not pairs:
            raise ValueError("weights must contain at least one (W, b) pair")
        arrays = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"weights[{i}] must be a (W, b) pair")
            arrays.extend(to_array(a, f"weights[{i}][{j}]") for j, a in enumerate(pair))
        dt = weights_dtype(arrays) if dtype is None else check_dtype(dtype)
        layers = []
        for i in range(len(pairs)):
            W = as_float_array(arrays[2 * i], f"weights[{i}][0] (W)", dt)
            b = as_float_array(arrays[2 * i + 1], f"weights[{i}][1] (b)", dt)
            if W.ndim != 2 or 0 in W.shape:
                raise ValueError(
                    f"weights[{i}][0] (W) must be a non-empty 2-D array, got {W.shape}"
                )
            if b.shape != (W.shape[1],):
                raise ValueError(
                    f"weights[{i}][1] (b) must have shape ({W.shape[1]},), got {b.shape}"
                )
            if layers and W.shape[0] != layers[-1]:
                raise ValueError(
                    f"weights[{i}][0] (W) has {W.shape[0]} rows but layer {i} has "
                    f"{layers[-1]} outputs: shapes must chain"
                )
            if not layers:
                layers.append(W.shape[0])
            layers.append(W.shape[1])
            arrays[2 * i : 2 * i + 2] = [W, b]
        net = cls.__new__(cls)
        net._setup(tuple(layers), loss, dt, backend, output)
        net._params = np.concatenate([a.ravel() for a in arrays])
        return net

    # ------------------------------------------------------------------ properties
    @property
    def layers(self) -> tuple[int, ...]:
        return self._layers

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @property
    def output(self) -> str:
        """The output layer: ``"sigmoid"``, ``"softmax"`` or ``"linear"``."""
        return self._output_name

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def weights(self) -> Weights:
        """The current ``[(W, b), ...]`` as copies."""
        return [(W.copy(), b.copy()) for W, b in self._layout.views(self._params)]

    @property
    def _loss(self) -> Loss:
        return get_loss(self._loss_name, self._output_name)

    def __repr__(self) -> str:
        out = "" if self._output_name == "sigmoid" else f", output={self._output_name!r}"
        return (
            f"Network(layers={self._layers}, loss={self._loss_name!r}{out}, "
            f"dtype={self._dtype.name}, backend={self._backend!r})"
        )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the network to ``path`` (an ``.npz``, written atomically); see ``fastnet.load``.

        Weights, layer sizes, loss, dtype, backend, ``history_``, ``n_epochs_`` and
        ``converged_`` are stored exactly. Returns ``path`` as a ``Path``.
        """
        from .persistence import save

        return save(self, path)

    def __getstate__(self) -> dict[str, np.ndarray]:
        """Pickle the same versioned state as ``save`` (arrays only, no compiled objects)."""
        from .persistence import network_state

        return network_state(self)

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        """Rebuild from ``__getstate__``'s state, with ``load``'s checks, owning fresh arrays."""
        from .persistence import from_state

        self.__dict__.update(vars(from_state(state, cls=type(self), source="pickled state")))

    # ------------------------------------------------------------------ training
    @property
    def optimizer(self) -> optim.Optimizer | None:
        """The optimizer of the last ``fit`` (``None`` before the first); its state is kept, so
        a ``fit`` with an equal optimizer continues where the last one stopped."""
        return self._optimizer

    @property
    def optimizer_state(self) -> dict[str, np.ndarray]:
        """Copies of the optimizer's state: ``vec`` (in the network's dtype, blocks of
        ``n_params`` values in the parameter layout) and ``scal`` (float64); see
        ``fastnet.optim`` for what each holds."""
        return {"vec": self._opt_vec.copy(), "scal": self._opt_scal.copy()}

    def fit(
        self,
        X: object,
        y: object,
        *,
        optimizer: optim.Optimizer | str | None = None,
        lr: float = _UNSET,
        epochs: int = 1000,
        tol: float | None = 1e-4,
        n_iter_no_change: int | float = 10,
        callback: Callable[[int, float], object] | None = None,
        progress: bool = False,
        block_epochs: int | None = None,
        sample_weight: object = None,
        alpha: float = 0.0,
        validation_data: tuple | None = None,
        early_stopping: bool = False,
        validation_metric: str | None = None,
    ) -> Network:
        """Full-batch training from the current weights.

        Each epoch runs the forward pass on all of ``X``, records the loss (``history_``: the
        loss *before* that epoch's update, scikit-learn's ``loss_curve_`` convention), and
        updates every weight and bias. The default optimizer is gradient descent,
        ``W -= lr * dJ/dW``, ``b -= lr * dJ/db`` (``fastnet.optim.GD``, ``lr=0.5``).

        ``optimizer``: a ``fastnet.optim`` object (``GD``, ``Momentum``, ``Adam``, ``Rprop``,
        ``LBFGS``) or the name of one with its defaults (``"gd"``, ``"momentum"``,
        ``"nesterov"``, ``"adam"``, ``"rprop"``, ``"lbfgs"``). ``lr`` sets the step size of
        the default GD or of the optimizer named (not with an object: pass it to the object).
        The optimizer's state (velocity, moments, step sizes, L-BFGS pairs) is kept on the
        network: a later ``fit`` with an equal optimizer continues it, exactly as one longer
        fit would (with ``tol=None``); another optimizer starts afresh. For L-BFGS an epoch is
        one iteration (one line search, usually one or two evaluations); ``n_evals_`` counts
        the loss+gradient evaluations of this call.

        Stopping rule, scikit-learn's (``MLPClassifier``'s ``tol`` and ``n_iter_no_change``):
        with ``tol=None`` exactly ``epochs`` epochs run. Otherwise an epoch *fails to improve*
        when its loss is greater than ``best - tol``, ``best`` being the lowest loss of the
        epochs before it in this call; training stops (``converged_ = True``) when more than
        ``n_iter_no_change`` consecutive epochs have failed, i.e. at the end of the
        ``(n_iter_no_change + 1)``-th, or after ``epochs`` epochs. ``n_iter_no_change=np.inf``
        never stops by ``tol``. L-BFGS uses the same rule on its per-iteration losses, and also
        stops (``converged_ = True``) when no step lowers the loss any more.

        ``X`` may be a ``scipy.sparse`` matrix (CSR; CSC and other formats are converted to
        CSR once): the kernels multiply it sparsely, row block by row block, never densifying
        it, and the result equals the dense fit's on ``X.toarray()`` up to rounding (the
        order of the additions). ``predict``, ``predict_proba``, ``logits``, ``loss``,
        ``gradients`` and ``score`` take it too; ``y`` and ``sample_weight`` are dense.

        ``sample_weight`` (``(n,)``, non-negative, not all 0) makes the loss the weighted mean
        ``sum_i w_i J_i / sum_i w_i`` (scikit-learn's): a row of weight 0 counts as if it were
        not there. ``alpha >= 0`` adds scikit-learn's L2 penalty ``alpha / (2 n) * sum(W^2)``
        over the weight matrices (not the biases; ``n`` is ``sum_i w_i`` with weights) to the
        loss, its gradient and ``history_``.

        ``validation_data=(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``: held-out
        rows, scored after every epoch's update inside the same compiled loop. Their loss (as
        the training loss, without the penalty) goes to ``validation_history_`` and their score
        to ``validation_scores_``: ``validation_metric="accuracy"`` (the default for sigmoid and
        softmax outputs: the share of rows whose every output is on the right side of 0.5, or
        whose arg-max is the target's; sigmoid targets must be 0/1) or ``"r2"`` (the default
        for a linear output: R^2 averaged over the outputs), weighted by
        ``sample_weight_val``. With ``early_stopping=True`` the stopping rule uses the score
        instead of the training loss, as scikit-learn's ``early_stopping`` does: an epoch fails
        when its score is below ``best + tol``; training stops when more than
        ``n_iter_no_change`` epochs in a row have failed, and the weights of the best score
        are restored at the end (also when training stops for another reason: ``epochs``, a
        callback, Ctrl-C, divergence); ``best_validation_score_`` is that score.

        ``callback(epochs_done, last_loss)`` runs between compiled blocks of ``block_epochs``
        epochs; returning ``True`` stops training. ``progress=True`` shows a tqdm bar with the
        current loss. Without ``block_epochs``, blocks are sized to take about 0.1 s each (the
        first is 10 epochs), so Python's share of the time stays small for any problem size. A
        block boundary changes no number. Ctrl-C stops training at the end of the running
        block and raises ``KeyboardInterrupt``; ``history_``, ``n_epochs_``, the weights and
        the optimizer's state then describe exactly the epochs applied.

        Raises
        ------
        DivergedError
            When the loss or an updated weight becomes non-finite (the step size is too
            large for the data). The network keeps the last finite weights and ``history_``
            holds the losses up to that point.
        ValueError, TypeError
            For invalid arguments or data, before anything is computed; the network is left
            as it was. This includes an ``X`` with a value larger in magnitude than
            ``sqrt(finfo(dtype).max)`` (1.3e154 in float64, 1.8e19 in float32): its products
            with the first layer's weights could overflow, and it needs scaling (the same rule
            holds for ``predict``, ``loss`` and ``score``; see ``_validation.input_limit``).
        """
        opt = self._check_optimizer(optimizer, lr)
        loss = self._loss  # a loss unregistered since the network was built fails here
        progress = check_bool(progress, "progress")
        epochs = check_int(epochs, "epochs", 1)
        if tol is not None:
            tol = check_float(tol, "tol", positive=False)
        n_iter_no_change = check_n_iter_no_change(n_iter_no_change)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        if block_epochs is not None:
            block_epochs = check_int(block_epochs, "block_epochs", 1)
        alpha = check_float(alpha, "alpha", positive=False)
        early_stopping = check_bool(early_stopping, "early_stopping")
        if early_stopping and validation_data is None:
            raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")

        if is_dask_array(X) or is_dask_array(y):  # train on the current Dask client
            if is_sparse(X):
                raise TypeError(
                    "X is a scipy.sparse matrix but y is a dask array: the Dask path takes "
                    "dense dask arrays only; pass y as a NumPy array to fit the sparse X here"
                )
            backend = get_backend("dask")(self._layers, self._dtype, output=self._output_name)
            Xc, Y = X, y
            w = sample_weight  # checked with the partitions, on the workers
        else:
            backend, (Xc, Y) = self._backend_impl(), self._check_data(X, y)
            w = check_sample_weight(sample_weight, Xc.shape[0], self._dtype)
        if opt != self._optimizer or self._opt_vec.dtype != self._dtype:
            vec, scal = opt.init_state(self._layout.n_params, self._dtype)
        else:  # continue the optimizer (on copies: a failed set-up leaves the network as it was)
            vec, scal = self._opt_vec.copy(), self._opt_scal.copy()
        lbfgs = opt.code == optim.LBFGS_CODE
        if lbfgs:
            scal[optim.LB_HAVE] = 0  # loss and gradient are recomputed on this call's data
        evals_before = scal[optim.LB_EVALS] if lbfgs else 0.0
        validation = self._validation(validation_data, validation_metric, early_stopping,
                                      epochs)  # fmt: skip
        stop_state = np.array([np.inf, 0.0])  # best loss, epochs without improvement
        if n_iter_no_change == np.inf:  # the count never exceeds the epochs of this call
            n_iter_no_change = epochs
        run = backend.runner(self._params, Xc, Y, loss, opt, vec, scal,
                             -1.0 if tol is None else float(tol), n_iter_no_change,
                             stop_state, sample_weight=w, alpha=alpha,
                             validation=validation)  # fmt: skip
        self._optimizer, self._opt_vec, self._opt_scal = opt, vec, scal

        def record(outcome: Outcome) -> None:
            self.history_ = outcome.history
            self.n_epochs_ = outcome.epochs
            self.converged_ = outcome.converged
            if validation is None:
                self._no_validation()
            else:
                done = validation.record[: outcome.epochs]
                self.validation_history_ = done[:, 0].astype(self._dtype)
                self.validation_scores_ = done[:, 1].copy()
                best = validation.vstate[0]
                if early_stopping and np.isfinite(best):  # the best epoch's weights
                    self._params[...] = validation.pbest
                self.best_validation_score_ = (
                    float(best) if early_stopping
                    else float(np.max(done[:, 1])) if outcome.epochs else None
                )  # fmt: skip
            if lbfgs:
                self.n_evals_ = int(scal[optim.LB_EVALS] - evals_before)
            else:  # one evaluation per epoch, and one more for an epoch that diverged
                self.n_evals_ = outcome.epochs + (outcome.status == DIVERGED)

        drive(run, epochs, self._dtype, callback=callback, progress=progress,
              block_epochs=block_epochs, record=record, describe=opt)  # fmt: skip
        if not is_dask_array(Xc) and (self.converged_ or self.n_epochs_ >= MIN_EPOCHS):
            problem = diagnose(self._layout.views(self._params), Xc, Y, self._output_name)
            if problem is not None:
                warnings.warn(f"{self!r}: {problem}", self._fit_warning, stacklevel=2)
        return self

    def _validation(
        self, data: object, metric: object, early: bool, epochs: int
    ) -> Validation | None:
        """``fit``'s held-out rows, checked (errors name ``validation_data``)."""
        if data is None:
            if metric is not None:
                raise ValueError("validation_metric needs validation_data=(X_val, y_val)")
            return None
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise TypeError(
                "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                f"sample_weight_val), got {type(data).__name__}"
            )
        if any(is_dask_array(a) for a in data):
            raise TypeError("validation_data must be in memory (NumPy arrays), not dask arrays")
        if metric is None:
            metric = "r2" if self._output_name == "linear" else "accuracy"
        if metric not in ("accuracy", "r2"):
            raise ValueError(f"validation_metric must be 'accuracy' or 'r2', got {metric!r}")
        try:
            Xv, Yv = self._check_data(data[0], data[1])
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"validation_data: {exc}") from None
        labels = np.isin(Yv, (0, 1)).all()
        if metric == "accuracy" and self._output_name == "sigmoid" and not labels:
            raise ValueError(
                "validation_data: y must hold 0/1 labels for validation_metric='accuracy'; "
                "use validation_metric='r2' for other targets"
            )
        wv = check_sample_weight(data[2] if len(data) == 3 else None, Xv.shape[0], self._dtype,
                                 name="validation_data sample_weight")  # fmt: skip
        w64 = np.ones(Xv.shape[0]) if wv is None else wv.astype(np.float64)
        total = float(w64.sum())
        Y64 = Yv.astype(np.float64)
        ss_tot = (w64[:, None] * (Y64 - w64 @ Y64 / total) ** 2).sum(axis=0)
        vstate = np.concatenate(([-np.inf, 0.0, total, np.nan], ss_tot))
        return Validation(Xv, Yv, wv, R2 if metric == "r2" else ACCURACY, early, vstate,
                          self._params.copy(), np.full((epochs, 2), np.nan))  # fmt: skip

    #: The warning class of ``fit``'s usefulness check (the estimators use one that is also
    #: scikit-learn's ``ConvergenceWarning``).
    _fit_warning: type[Warning] = FitWarning

    def _check_optimizer(self, optimizer: object, lr: object) -> optim.Optimizer:
        """The optimizer ``fit`` was asked for, checked (also against the dtype)."""
        overrides = {}
        if lr is not _UNSET:
            overrides["lr"] = check_float(lr, "lr", positive=True, dtype=self._dtype)
        opt = optim.get_optimizer("gd" if optimizer is None else optimizer, **overrides)
        opt.check_dtype(self._dtype)
        return opt

    def _backend_impl(self):
        return get_backend(self._backend)(self._layers, self._dtype, output=self._output_name)

    # ------------------------------------------------------------------ evaluation
    def _check_X(self, X: object):
        """``X`` checked for this network: a dense ``(n, d)`` array of its dtype, or a CSR
        matrix for a ``scipy.sparse`` one (``_validation.check_sparse_X``)."""
        return check_X(X, self._layers[0], self._dtype, sparse=True)

    def _check_data(self, X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
        Xc = self._check_X(X)
        loss = self._loss
        if self._output_name == "softmax":
            Y = check_class_targets(y, Xc.shape[0], self._layers[-1], self._dtype)
        else:
            Y = check_y(y, Xc.shape[0], self._layers[-1], self._dtype, loss.needs_unit_targets,
                        output=self._output_name)  # fmt: skip
        return Xc, Y

    def _output(self, Xc: np.ndarray) -> np.ndarray:
        """``(n, k)`` output activations."""
        return self._backend_impl().predict(self._params, Xc)

    def logits(self, X: object) -> np.ndarray:
        """The output layer's logits (before its activation), ``(n,)`` for one output else
        ``(n, k)``."""
        Z = self._backend_impl().logits(self._params, self._check_X(X))
        Z = check_outputs(Z, self._dtype)
        return Z[:, 0].copy() if self._layers[-1] == 1 else Z

    def predict_proba(self, X: object) -> np.ndarray:
        """Output activations (class probabilities for a softmax output; the outputs for a
        linear one): shape ``(n,)`` when the network has one output, else ``(n, k)``."""
        if is_dask_array(X):  # a lazy dask array, computed block by block on the cluster
            dask = get_backend("dask")(self._layers, self._dtype, predict_with=self._backend,
                                       output=self._output_name)  # fmt: skip
            P = dask.predict(self._params.copy(), X)
            return P[:, 0] if self._layers[-1] == 1 else P
        P = check_outputs(self._output(self._check_X(X)), self._dtype)
        return P[:, 0].copy() if self._layers[-1] == 1 else P

    def predict_log_proba(self, X: object) -> np.ndarray:
        """Log of ``predict_proba`` (sigmoid and softmax outputs), computed from the logits so
        that it is finite where the probabilities round to 0 or 1."""
        if self._output_name == "linear":
            raise ValueError("predict_log_proba needs a sigmoid or softmax output, not linear")
        Z = self.logits(X)
        if self._output_name == "sigmoid":
            return -np.logaddexp(0, -Z)
        shifted = Z - Z.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X: object) -> np.ndarray:
        """Sigmoid output: 0/1 labels, 1 where ``predict_proba(X) >= 0.5`` (shape as
        ``predict_proba``). Softmax output: the arg-max class ``0..k-1``, shape ``(n,)``.
        Linear output: the outputs (as ``predict_proba``)."""
        P = self.predict_proba(X)
        if self._output_name == "softmax":
            return np.argmax(P, axis=1).astype(np.int64)
        if self._output_name == "linear":
            return P
        return (P >= 0.5).astype(np.int64)

    def loss_and_gradients(
        self, X: object, y: object, *, sample_weight: object = None, alpha: float = 0.0
    ) -> tuple[np.floating, Weights]:
        """The training loss at the current weights and its gradient ``[(dW, db), ...]``
        (``sample_weight`` and ``alpha`` as in ``fit``)."""
        Xc, Y = self._check_data(X, y)
        w = check_sample_weight(sample_weight, Xc.shape[0], self._dtype)
        alpha = check_float(alpha, "alpha", positive=False)
        J, g = self._backend_impl().loss_grad(self._params, Xc, Y, self._loss, w, alpha)
        return J, self._layout.views(g)

    def loss(
        self, X: object, y: object, *, sample_weight: object = None, alpha: float = 0.0
    ) -> np.floating:
        """The training loss ``J`` at the current weights (mean over samples; weighted mean
        with ``sample_weight``; plus the L2 penalty with ``alpha``)."""
        return self.loss_and_gradients(X, y, sample_weight=sample_weight, alpha=alpha)[0]

    def gradients(
        self, X: object, y: object, *, sample_weight: object = None, alpha: float = 0.0
    ) -> Weights:
        """``[(dJ/dW_1, dJ/db_1), ...]`` at the current weights, shaped like ``weights``."""
        return self.loss_and_gradients(X, y, sample_weight=sample_weight, alpha=alpha)[1]

    def score(self, X: object, y: object) -> float:
        """Sigmoid output: accuracy of ``predict(X)`` against 0/1 labels ``y`` (rows: all
        outputs). Softmax output: accuracy of the arg-max class against the labels (or the
        arg-max of probability rows). Linear output: the coefficient of determination R^2
        (averaged over the outputs, as scikit-learn's ``r2_score``)."""
        Xc = self._check_X(X)
        if self._output_name == "softmax":
            Y = check_class_targets(y, Xc.shape[0], self._layers[-1], self._dtype)
            P = check_outputs(self._output(Xc), self._dtype)
            return float(np.mean(np.argmax(P, axis=1) == np.argmax(Y, axis=1)))
        if self._output_name == "linear":
            Y = check_y(y, Xc.shape[0], self._layers[-1], self._dtype, False, output="linear")
            P = check_outputs(self._output(Xc), self._dtype).astype(np.float64)
            Y = Y.astype(np.float64)
            ss_res = ((Y - P) ** 2).sum(axis=0)
            ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
            return reference.r2_from_sums(ss_res, ss_tot)
        Y = check_y(y, Xc.shape[0], self._layers[-1], self._dtype, unit=True)
        if not np.isin(Y, (0, 1)).all():
            raise ValueError("y must contain only 0/1 labels to compute an accuracy")
        pred = check_outputs(self._output(Xc), self._dtype) >= 0.5
        return float(np.mean(np.all(pred == (Y == 1), axis=1)))
