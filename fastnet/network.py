"""``Network``: a feed-forward sigmoid network trained by full-batch gradient descent."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _kernels, reference
from ._engine import Engine, param_layout
from ._validation import (
    as_float_array,
    check_backend,
    check_bool,
    check_dtype,
    check_float,
    check_int,
    check_layers,
    check_outputs,
    check_X,
    check_y,
    is_dask_array,
    to_array,
    weights_dtype,
)
from .losses import Loss, get_loss

Weights = list[tuple[np.ndarray, np.ndarray]]

#: With a callback or progress bar and no ``block_epochs``, the first compiled call runs
#: ``FIRST_BLOCK_EPOCHS`` epochs, and each later one as many epochs as take about
#: ``BLOCK_SECONDS`` at the measured pace: Python then runs a few times a second, and its share
#: of the time stays well under 3 % whatever the size of the problem.
FIRST_BLOCK_EPOCHS = 10
BLOCK_SECONDS = 0.1


class DivergedError(FloatingPointError):
    """Training made the loss or a weight non-finite; the network keeps its last finite weights."""


@dataclass(frozen=True)
class _Layout:
    """Where each layer's ``W`` and ``b`` live in the flat parameter vector (see ``_kernels``)."""

    sizes: np.ndarray  # (L + 1,) int64 layer widths
    offs: np.ndarray  # (L,) start of W_l; b_l follows it
    n_params: int

    @classmethod
    def from_sizes(cls, layers: Sequence[int]) -> _Layout:
        sizes = np.asarray(layers, dtype=np.int64)
        offs, n_params = param_layout(sizes)
        return cls(sizes, offs, n_params)

    def views(self, flat: np.ndarray) -> Weights:
        """``[(W_1, b_1), ...]`` as views into ``flat``."""
        out = []
        for layer, off in enumerate(self.offs):
            fi, fo = int(self.sizes[layer]), int(self.sizes[layer + 1])
            W = flat[off : off + fi * fo].reshape(fi, fo)
            out.append((W, flat[off + fi * fo : off + fi * fo + fo]))
        return out


def stopping_rule(state: np.ndarray, loss: float, tol: float, n_iter_no_change: int) -> bool:
    """scikit-learn's rule, as in ``_kernels.train``, for the runners written in Python.

    ``state = [best_loss, epochs_without_improvement]`` is updated with this epoch's ``loss``;
    ``tol < 0`` disables the rule. True when training should stop.
    """
    if tol < 0:
        return False
    state[1] = state[1] + 1 if loss > state[0] - tol else 0
    state[0] = min(state[0], loss)
    return state[1] >= n_iter_no_change


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
    """A fully connected network in which every layer, the output included, is a sigmoid.

    Parameters
    ----------
    layers : sequence of int
        Layer widths ``(d, h1, ..., hL, k)``: ``d`` inputs, any number of hidden layers, ``k``
        outputs.
    loss : {"mse", "log"}
        ``"mse"`` (alias ``"squared_error"``): ``J = mean_i sum_j (p_ij - y_ij)^2``.
        ``"log"`` (aliases ``"bce"``, ``"binary_crossentropy"``, ``"log_loss"``): binary
        cross-entropy, computed from the logits so it is finite for any finite input.
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
    ) -> None:
        if seed is not None:
            check_int(seed, "seed", 0)
        self._setup(check_layers(layers), loss, dtype, backend)
        self._params = _initial_params(self._layers, seed, self._dtype)

    def _setup(self, layers: tuple[int, ...], loss: str, dtype: object, backend: str) -> None:
        self._layers = layers
        self._loss_name = get_loss(loss).name
        self._dtype = check_dtype(dtype)
        self._backend = check_backend(backend)
        self._layout = _Layout.from_sizes(layers)
        self.history_: np.ndarray = np.empty(0, self._dtype)
        self.n_epochs_ = 0
        self.converged_ = False

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[tuple[object, object]],
        loss: str = "mse",
        dtype: type | str | np.dtype | None = None,
        backend: str = "numba",
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
        net._setup(tuple(layers), loss, dt, backend)
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
        return get_loss(self._loss_name)

    def __repr__(self) -> str:
        return (
            f"Network(layers={self._layers}, loss={self._loss_name!r}, "
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
    def fit(
        self,
        X: object,
        y: object,
        *,
        lr: float = 0.5,
        epochs: int = 1000,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        callback: Callable[[int, float], object] | None = None,
        progress: bool = False,
        block_epochs: int | None = None,
    ) -> Network:
        """Full-batch gradient descent from the current weights.

        Each epoch runs the forward pass on all of ``X``, records the loss (``history_``: the
        loss *before* that epoch's update, scikit-learn's ``loss_curve_`` convention), and
        applies ``W -= lr * dJ/dW``, ``b -= lr * dJ/db`` to every layer.

        Stopping rule: with ``tol=None`` exactly ``epochs`` epochs run. Otherwise an epoch
        *fails to improve* when its loss is greater than ``best - tol``, ``best`` being the
        lowest loss seen so far in this call; training stops (``converged_ = True``) after
        ``n_iter_no_change`` consecutive such epochs, or after ``epochs`` epochs.

        ``callback(epochs_done, last_loss)`` runs between compiled blocks of ``block_epochs``
        epochs; returning ``True`` stops training. ``progress=True`` shows a tqdm bar with the
        current loss. Without either, all epochs run in one compiled call. With one and no
        ``block_epochs``, blocks are sized to take about 0.1 s each (the first is 10 epochs),
        so Python's share of the time stays small for any problem size.

        Raises
        ------
        DivergedError
            When the loss or an updated weight becomes non-finite (the learning rate is too
            large for the data). The network keeps the last finite weights and ``history_``
            holds the losses up to that point.
        """
        lr = check_float(lr, "lr", positive=True, dtype=self._dtype)
        progress = check_bool(progress, "progress")
        epochs = check_int(epochs, "epochs", 1)
        if tol is not None:
            tol = check_float(tol, "tol", positive=False)
        n_iter_no_change = check_int(n_iter_no_change, "n_iter_no_change", 1)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        adaptive = block_epochs is None and (callback is not None or progress)
        if block_epochs is not None:
            block_epochs = check_int(block_epochs, "block_epochs", 1)
        elif adaptive:
            block_epochs = FIRST_BLOCK_EPOCHS
        else:
            block_epochs = epochs

        hist = np.empty(epochs, self._dtype)
        state = np.array([np.inf, 0.0])  # best loss, epochs without improvement
        tol_ = -1.0 if tol is None else float(tol)
        if is_dask_array(X) or is_dask_array(y):  # train on the current Dask client
            from .distributed import _epoch_runner as dask_runner

            run = dask_runner(self, X, y, lr, tol_, n_iter_no_change, state)
        else:
            Xc, Y = self._check_data(X, y)
            run = self._epoch_runner(Xc, Y, self._dtype.type(lr), tol_, n_iter_no_change, state)
        bar = _progress_bar(epochs) if progress else None
        done, status = 0, _kernels.RAN_ALL
        try:
            while done < epochs and status == _kernels.RAN_ALL:
                todo = min(block_epochs, epochs - done)
                started = time.perf_counter()
                try:
                    ran, status = run(todo, hist[done : done + todo])
                except RuntimeError as exc:  # a runner that failed part-way says how far it got
                    done += getattr(exc, "epochs_run", 0)
                    raise
                if adaptive and ran:  # aim at BLOCK_SECONDS of compiled work per block
                    per_epoch = max(time.perf_counter() - started, 1e-9) / ran
                    block_epochs = max(1, int(BLOCK_SECONDS / per_epoch))
                done += ran
                if bar is not None:
                    bar.update(ran)
                    if done:
                        bar.set_postfix(loss=f"{hist[done - 1]:.6g}")
                if callback is not None and done and status == _kernels.RAN_ALL:
                    if callback(done, float(hist[done - 1])) is True:
                        break
        finally:  # also when a runner raises: history_ describes the epochs applied
            if bar is not None:
                bar.close()
            self.history_ = hist[:done].copy()
            self.n_epochs_ = done
            self.converged_ = status == _kernels.CONVERGED
        if status == _kernels.DIVERGED:
            raise DivergedError(
                f"training diverged after {done} epochs: the loss or an updated weight became "
                f"non-finite with lr={lr}. "
                "The network keeps the weights of its last finite step; try a smaller lr"
            )
        return self

    def _epoch_runner(self, X, Y, lr, tol, n_iter_no_change, state):
        """A function ``run(epochs, hist) -> (epochs_run, status)`` for the chosen backend."""
        n = X.shape[0]
        if self._backend == "numba":
            engine = Engine(self._layers, n, self._dtype)
            return engine.trainer(self._params, X.ravel(), Y.ravel(), self._loss.kernel, lr, tol,
                                  n_iter_no_change, state)  # fmt: skip

        views = self._layout.views(self._params)
        loss = self._loss_name

        def run_numpy(epochs: int, hist: np.ndarray) -> tuple[int, int]:
            for e in range(epochs):
                with np.errstate(over="ignore", invalid="ignore"):
                    J, grads = reference.loss_and_gradients(views, X, Y, loss)
                    if not np.isfinite(J):
                        return e, _kernels.DIVERGED
                    hist[e] = J
                    new = reference.gradient_step(views, grads, lr)
                if not all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in new):
                    return e + 1, _kernels.DIVERGED
                for (W, b), (W_new, b_new) in zip(views, new, strict=True):
                    W[...] = W_new
                    b[...] = b_new
                if stopping_rule(state, J, tol, n_iter_no_change):
                    return e + 1, _kernels.CONVERGED
            return epochs, _kernels.RAN_ALL

        return run_numpy

    # ------------------------------------------------------------------ evaluation
    def _check_data(self, X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
        Xc = check_X(X, self._layers[0], self._dtype)
        Y = check_y(y, Xc.shape[0], self._layers[-1], self._dtype, self._loss.needs_unit_targets)
        return Xc, Y

    def _output(self, Xc: np.ndarray) -> np.ndarray:
        """``(n, k)`` output activations."""
        if self._backend == "numpy":
            activations, _ = reference.forward(self._layout.views(self._params), Xc)
            return activations[-1]
        n = Xc.shape[0]
        out = Engine(self._layers, n, self._dtype).predict(self._params, Xc.ravel())
        return out.reshape(n, -1)

    def predict_proba(self, X: object) -> np.ndarray:
        """Output activations: shape ``(n,)`` when the network has one output, else ``(n, k)``."""
        if is_dask_array(X):  # a lazy dask array, computed block by block
            from .distributed import predict_proba

            return predict_proba(self, X)
        P = check_outputs(self._output(check_X(X, self._layers[0], self._dtype)), self._dtype)
        return P[:, 0].copy() if self._layers[-1] == 1 else P

    def predict(self, X: object) -> np.ndarray:
        """0/1 labels: 1 where ``predict_proba(X) >= 0.5``; shape as ``predict_proba``."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)

    def loss_and_gradients(self, X: object, y: object) -> tuple[np.floating, Weights]:
        """The training loss at the current weights and its gradient ``[(dW, db), ...]``."""
        Xc, Y = self._check_data(X, y)
        if self._backend == "numpy":
            with np.errstate(over="ignore", invalid="ignore"):
                J, grads = reference.loss_and_gradients(
                    self._layout.views(self._params), Xc, Y, self._loss_name
                )
            return self._dtype.type(J), [(dW.copy(), db.copy()) for dW, db in grads]
        n = Xc.shape[0]
        engine = Engine(self._layers, n, self._dtype)
        J, g = engine.loss_grad(self._params, Xc.ravel(), Y.ravel(), self._loss.kernel, 1.0 / n)
        return J, [(W.copy(), b.copy()) for W, b in self._layout.views(g)]

    def loss(self, X: object, y: object) -> np.floating:
        """The training loss ``J`` at the current weights (mean over samples)."""
        return self.loss_and_gradients(X, y)[0]

    def gradients(self, X: object, y: object) -> Weights:
        """``[(dJ/dW_1, dJ/db_1), ...]`` at the current weights, shaped like ``weights``."""
        return self.loss_and_gradients(X, y)[1]

    def score(self, X: object, y: object) -> float:
        """Accuracy of ``predict(X)`` against 0/1 labels ``y`` (rows: all outputs)."""
        Xc = check_X(X, self._layers[0], self._dtype)
        Y = check_y(y, Xc.shape[0], self._layers[-1], self._dtype, unit=True)
        if not np.isin(Y, (0, 1)).all():
            raise ValueError("y must contain only 0/1 labels to compute an accuracy")
        pred = check_outputs(self._output(Xc), self._dtype) >= 0.5
        return float(np.mean(np.all(pred == (Y == 1), axis=1)))


def _progress_bar(total: int):
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "progress=True needs tqdm: pip install 'fastnet-numba[progress]'"
        ) from exc
    return tqdm(total=total, unit="epoch", leave=False)
