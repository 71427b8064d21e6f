"""Exact full-batch training and prediction on a Dask cluster.

Needs the ``dask`` extra: ``pip install 'fastnet-numba[dask]'``.

Full-batch gradients are sums over rows, so training is data-parallel. ``fit`` prepares the
``(X, y)`` partitions once, co-located on the workers, then runs one round trip per epoch:
one ``client.map`` computes each partition's *unscaled* loss and gradient sums with the same
fused numba kernel a local fit uses; the client adds them in partition order, scales them by
``1 / n`` once, and applies the update. Every epoch is therefore one exact full-batch step: the
weights equal a single-process fit of the same data up to the order of the floating-point sums
(about 1e-14 relative in float64).

Each worker process runs one kernel at a time with ``cores // workers on its host`` numba
threads, so numba threads times workers never oversubscribe a machine's cores. The kernels are
imported from the installed ``fastnet`` package on the workers, so they load from numba's
on-disk cache; ``fit`` warms them on every worker before the first epoch.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING

import numpy as np

try:
    import dask
    import dask.array as da
    from distributed import Client, KilledWorker, get_worker
    from distributed.comm import get_address_host
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastnet.distributed needs dask and distributed: pip install 'fastnet-numba[dask]'"
    ) from exc

import numba

from . import optim, reference
from ._engine import Engine
from ._layout import Layout
from ._validation import (
    check_class_targets,
    check_outputs,
    check_sample_weight,
    check_X,
    check_y,
    is_sparse,
)
from .backends import EvaluationError, get_backend
from .backends.numpy import NumpyBackend, python_runner
from .losses import BUILTIN, LOSSES, Loss, get_loss

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

#: One kernel at a time per worker process: its numba threads already use the process's share
#: of the cores (and numba's workqueue threading layer must not be entered concurrently).
_KERNEL_LOCK = threading.Lock()


def fit(
    net: Network,
    X: object,
    y: object,
    client: Client | None = None,
    *,
    optimizer: optim.Optimizer | str | None = None,
    lr: float | None = None,
    epochs: int = 1000,
    tol: float | None = 1e-4,
    n_iter_no_change: int | float = 10,
    callback: Callable[[int, float], object] | None = None,
    progress: bool = False,
    block_epochs: int | None = None,
    sample_weight: object = None,
    alpha: float = 0.0,
) -> Network:
    """Full-batch training of ``net`` on dask arrays, on a Dask cluster.

    Same arguments, stopping rule, ``history_``, ``n_epochs_``, ``converged_`` and divergence
    behaviour as ``Network.fit`` (which takes this path when given dask arrays, on the current
    client), and the same result as a local fit of the same data. The blocks of ``X``'s rows
    are the units of work; the workers always run the numba kernels, whatever ``net.backend``.

    Parameters
    ----------
    net : Network
        Trained in place, from its current weights.
    X : dask.array.Array, shape (n, d)
        Inputs with known chunk sizes; each block of rows is one partition. Dense only: a
        ``scipy.sparse`` ``X`` (or dask blocks of one) is a ``TypeError``.
    y : dask.array.Array or array_like, shape (n,) or (n, k)
        Targets; rechunked to ``X``'s row blocks.
    client : distributed.Client, optional
        The cluster to run on; default: the current client (``distributed.Client.current()``).
    optimizer, lr, epochs, tol, n_iter_no_change, callback, progress, block_epochs, alpha
        As in ``Network.fit`` (``lr=None``: the optimizer's own). Every evaluation of the
        loss and gradient is one round trip to the cluster (an epoch of a first-order
        optimizer, each trial point of an L-BFGS line search); the update runs on the client.
        ``callback`` may stop training between any two epochs with ``block_epochs=1``.
    sample_weight : dask.array.Array or array_like, shape (n,), optional
        Row weights (as in ``Network.fit``), rechunked to ``X``'s row blocks and checked with
        them on the workers.

    Returns
    -------
    Network
        ``net``.

    Raises
    ------
    DivergedError
        As in ``Network.fit``.
    ValueError
        For invalid data (raised by the worker that checks the partition) or when there is no
        Dask client.
    RuntimeError
        When the cluster lost data it cannot recompute (see Notes).

    Notes
    -----
    A worker that dies is handled by Dask: its partitions are recomputed from ``X`` and ``y``
    on the remaining workers and the epoch is retried, so the fit finishes with the same
    result. When Dask cannot recover (a task's workers died repeatedly, or scattered input
    data was lost with its worker), ``fit`` raises a ``RuntimeError`` saying so; ``net`` then
    keeps the weights of its last completed epoch and ``history_``/``n_epochs_`` describe the
    epochs completed.
    """
    if is_sparse(X):
        raise TypeError(
            "X is a scipy.sparse matrix: fastnet.distributed.fit takes dense dask arrays; fit "
            "a sparse X locally with Network.fit (it multiplies sparsely, block by block)"
        )
    client = _current_client(client)
    extra = {} if lr is None else {"lr": lr}
    with client.as_current():  # ``Network.fit`` checks the options, then trains here
        return net.fit(
            da.asarray(X),
            y,
            optimizer=optimizer,
            **extra,
            epochs=epochs,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            callback=callback,
            progress=progress,
            block_epochs=block_epochs,
            sample_weight=sample_weight,
            alpha=alpha,
        )


class DaskBackend:
    """The ``dask`` backend (``fastnet.backends``): partitions' loss and gradient sums on the
    workers with the numba kernels, the sum and the optimizer's update on the client (the
    NumPy update of ``fastnet.reference``, driven by ``backends.numpy.python_runner``)."""

    name = "dask"

    def __init__(
        self,
        layers: Sequence[int],
        dtype: np.dtype,
        predict_with: str = "numba",
        output: str = "sigmoid",
    ) -> None:
        self.layers = tuple(layers)
        self.dtype = np.dtype(dtype)
        self.predict_with = predict_with  # the backend the workers predict with
        self.output = output

    def runner(self, params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state,
               sample_weight=None, alpha=0.0, validation=None):  # fmt: skip
        """Held-out rows (``validation``, in memory) are scored on the client, by the NumPy
        baseline's maths."""
        loss_grad = self._loss_grad_on_cluster(X, Y, loss, sample_weight, alpha)
        validate = NumpyBackend(self.layers, self.dtype, self.output).validator(validation, loss)
        return python_runner(loss_grad, params, optimizer, vec, scal, tol, n_iter_no_change,
                             stop_state, validation, validate)  # fmt: skip

    def loss_grad(self, params, X, Y, loss, sample_weight=None, alpha=0.0):
        return self._loss_grad_on_cluster(X, Y, loss, sample_weight, alpha)(params)

    def predict(self, params, X):
        """Lazy ``(n, k)`` output activations of the dask array ``X``, block by block."""
        return _predict_dask(params, self.layers, self.dtype, self.predict_with, X, self.output)

    def _loss_grad_on_cluster(self, X, Y, loss: Loss, sample_weight=None, alpha=0.0):
        """``loss_grad(params) -> (J, g)``: one round trip to the current client per call.

        The partitions return (weighted) sums; the mean and the L2 penalty (``alpha``) are
        applied here, on the client."""
        client = _current_client(None)
        host_workers = _set_up_workers(client, self.dtype, loss)
        parts, total = _partitions(client, self.layers, self.dtype, loss, X, Y, sample_weight)
        dt = self.dtype.type
        scale = dt(1.0 / total)
        layout = Layout.from_sizes(self.layers)
        lam = alpha / total

        def loss_grad(params: np.ndarray) -> tuple[np.floating, np.ndarray]:
            try:
                total, g = _epoch_sums(client, parts, params, self.layers,
                                       (loss.name, loss.output), host_workers)  # fmt: skip
            except (CancelledError, KilledWorker) as exc:
                raise EvaluationError(
                    "the Dask cluster lost workers or data it cannot recompute "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite: checked by caller
                J, g = total * scale, g * scale
                if lam:
                    value, dWs = reference.l2_penalty(layout.views(params), lam)
                    J = dt(J + value)
                    for (gW, _), dW in zip(layout.views(g), dWs, strict=True):
                        gW += dW
                return J, g

        return loss_grad


def predict_proba(net: Network, X: object) -> da.Array:
    """Output activations of ``net`` for a dask array ``X``, as a lazy dask array.

    ``Network.predict_proba`` (and ``predict``) call this when given a dask array. The
    weights are copied now, so later training does not change the result.

    Parameters
    ----------
    net : Network
    X : dask.array.Array, shape (n, d)

    Returns
    -------
    dask.array.Array
        Shape ``(n,)`` when the network has one output, else ``(n, k)``; ``X``'s row chunks.
    """
    params = Layout.from_sizes(net.layers).flatten(net.weights, net.dtype)
    P = _predict_dask(params, net.layers, net.dtype, net.backend, X, net.output)
    return P[:, 0] if net.layers[-1] == 1 else P


def _predict_dask(params, layers, dtype, backend, X, output="sigmoid"):
    """Lazy ``(n, k)`` outputs of ``X``'s row blocks (the weights ``params`` are captured)."""
    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    X = X.rechunk({1: -1})
    k = layers[-1]
    args = (params, tuple(layers), np.dtype(dtype), backend, output)
    return X.map_blocks(
        _predict_block,
        *args,
        chunks=(X.chunks[0], (k,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


# ---------------------------------------------------------------------- client side
def _current_client(client: Client | None) -> Client:
    if client is not None:
        if not isinstance(client, Client):
            raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
        return client
    try:
        return Client.current()
    except ValueError as exc:
        raise ValueError(
            "no Dask client: start one (distributed.Client(...)) or pass client="
        ) from exc


def _set_up_workers(client: Client, dtype: np.dtype, loss: Loss) -> dict[str, int]:
    """Warm the kernels on every worker (registering ``loss`` there first when it is not a
    built-in one); returns the number of workers on each host."""
    workers = client.scheduler_info()["workers"]
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    host_workers = dict(Counter(get_address_host(addr) for addr in workers))
    client.run(_warm_up, dtype.name, loss.name, loss.output,
               None if loss.name in BUILTIN else loss)  # fmt: skip
    return host_workers


def _partitions(
    client: Client,
    layers: tuple[int, ...],
    dtype: np.dtype,
    loss: Loss,
    X: object,
    y: object,
    sample_weight: object = None,
) -> tuple[list, float]:
    """Futures of the checked ``(X, Y, w)`` partitions (``w`` ``None`` without weights), held
    on the workers; and ``n`` (the sum of the weights with ``sample_weight``)."""
    X, y = da.asarray(X), da.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
    if np.isnan(X.shape[0]) or np.isnan(y.shape[0]):
        raise ValueError(
            "X and y need known chunk sizes: call .compute_chunk_sizes() on them first"
        )
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"X is empty: it has 0 samples (shape {X.shape})")
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} samples but X has {n}")
    X = X.rechunk({1: -1})
    y = y.rechunk((X.chunks[0],) + (-1,) * (y.ndim - 1))
    if sample_weight is None:
        wbs = [None] * len(X.chunks[0])
    else:
        w = da.asarray(sample_weight)
        if w.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D (n_samples,), got shape {w.shape}")
        if w.shape[0] != n:
            raise ValueError(f"sample_weight has {w.shape[0]} values but X has {n} samples")
        wbs = w.rechunk((X.chunks[0],)).to_delayed().ravel()
    prepare = dask.delayed(_prepare, pure=True)
    d, k, unit = layers[0], layers[-1], loss.needs_unit_targets
    classes = loss.output == "softmax"
    tasks = [
        prepare(xb, yb, d, k, dtype, unit, classes, loss.output, wb)
        for xb, yb, wb, rows in zip(
            X.to_delayed().ravel(), y.to_delayed().ravel(), wbs, X.chunks[0], strict=True
        )
        if rows  # an empty block adds nothing
    ]
    parts = client.compute(tasks)
    if sample_weight is None:
        return parts, n
    total = float(sum(client.gather(client.map(_weight_sum, parts, pure=False))))
    if not total > 0:
        raise ValueError(
            "sample_weight is all zero (its sum must be positive: at least one row must count)"
        )
    return parts, total


def _epoch_sums(
    client: Client,
    parts: list,
    params: np.ndarray,
    layers: tuple[int, ...],
    loss: tuple[str, str],
    host_workers: dict[str, int],
) -> tuple[np.floating, np.ndarray]:
    """The unscaled loss and gradient sums at ``params`` over all partitions, added in
    partition order; ``loss`` is the ``(name, output)`` pair."""
    futures = client.map(
        _partition_sums,
        parts,
        params=params.copy(),
        layers=layers,
        loss=loss,
        host_workers=host_workers,
        pure=False,
    )
    results = client.gather(futures)
    total, g = results[0][0], results[0][1].copy()
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite sum means divergence
        for part_total, part_g in results[1:]:
            total += part_total
            g += part_g
    return total, g


# ---------------------------------------------------------------------- worker side
def _loss_grad(
    params: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    layers: tuple[int, ...],
    loss: tuple[str, str],
    w: np.ndarray | None = None,
) -> tuple[np.floating, np.ndarray]:
    """Unscaled (``w``-weighted) summed loss and gradient of the rows ``X``, ``Y`` (the only
    kernel call here); ``loss`` is the ``(name, output)`` pair."""
    engine = Engine(layers, X.shape[0], params.dtype)
    lo = get_loss(*loss)
    total, g = engine.loss_grad(params, X.ravel(), Y.ravel(), lo.kernel, output=lo.output_code,
                                weights=w, loss_w=lo.weighted)  # fmt: skip
    return params.dtype.type(total), g  # partitions' totals are added in the params' dtype


def _numba_threads(host_workers: dict[str, int], address: str) -> int:
    """The numba threads of the worker at ``address``: its share of its host's cores."""
    sharing = host_workers.get(get_address_host(address), 1)
    return max(1, numba.config.NUMBA_NUM_THREADS // sharing)


def _weight_sum(part: tuple) -> float:
    """The sum of one partition's row weights."""
    return float(part[2].sum(dtype=np.float64))


def _partition_sums(
    part: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    params: np.ndarray,
    layers: tuple[int, ...],
    loss: tuple[str, str],
    host_workers: dict[str, int],
) -> tuple[np.floating, np.ndarray]:
    """One partition's unscaled loss and gradient sums (a task of ``client.map``)."""
    with _KERNEL_LOCK:
        # numba's thread count is per calling thread: set it in the task's own thread.
        numba.set_num_threads(_numba_threads(host_workers, get_worker().address))
        return _loss_grad(params, part[0], part[1], layers, loss, part[2])


def _warm_up(dtype: str, loss: str, output: str, registered: Loss | None = None) -> None:
    """Load (or compile) the kernels for ``dtype`` and the loss ``(name, output)``, on a 1-row
    problem; a loss registered on the client (``registered``) is registered here too."""
    if registered is not None:
        LOSSES.setdefault(registered.name, {})[registered.output] = registered
        from .losses import ALIASES

        ALIASES.setdefault(registered.name, registered.name)
    dt = np.dtype(dtype)
    k = 2 if output == "softmax" else 1
    Y = np.zeros((1, k), dt)
    Y[0, 0] = 1
    n_params = 1 * k + k
    _loss_grad(np.zeros(n_params, dt), np.zeros((1, 1), dt), Y, (1, k), (loss, output))


def _prepare(
    X: np.ndarray,
    y: np.ndarray,
    d: int,
    k: int,
    dtype: np.dtype,
    unit: bool,
    classes: bool = False,
    output: str = "sigmoid",
    w: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Checked, converted ``(X, Y, w)`` of one partition, ``Y`` as ``(rows, k)`` (``w``: its row
    weights, or ``None``).

    Blocks deserialized from a message can start at any byte: they are copied to aligned
    memory, which the kernels read about twice as fast.
    """
    Xc = np.require(check_X(X, d, dtype), requirements="A")
    if classes:  # a softmax output: labels or probability rows
        Y = check_class_targets(y, Xc.shape[0], k, dtype)
    else:
        Y = check_y(y, Xc.shape[0], k, dtype, unit, output=output)
    if w is not None:  # a partition's weights may all be 0 (their total is checked later)
        w = np.require(check_sample_weight(w, Xc.shape[0], dtype, positive_sum=False),
                       requirements="A")  # fmt: skip
    return Xc, np.require(Y, requirements="A"), w


def _predict_block(
    X: np.ndarray,
    params: np.ndarray,
    layers: tuple[int, ...],
    dtype: np.dtype,
    backend: str,
    output: str = "sigmoid",
) -> np.ndarray:
    if X.shape[0] == 0:
        return np.empty((0, layers[-1]), dtype)
    Xc = check_X(X, layers[0], dtype)
    impl = get_backend(backend)(layers, dtype, output=output)
    return check_outputs(impl.predict(params, Xc), dtype)
