"""``Engine``: the numba backend's buffers for one data size, and the calls into the kernels.

``network.py`` (and ``distributed.py``) validate and convert; an ``Engine`` allocates every
buffer the kernels need once, chooses the kernel variant per layer, and runs the compiled code.
It is the only place that knows the kernels' argument lists.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext

import numba
import numpy as np

# numba's np.dot calls SciPy's BLAS: load it now, so the ThreadpoolController below sees it.
import scipy.linalg.cython_blas  # noqa: F401
from threadpoolctl import ThreadpoolController

from . import _jit, _kernels
from ._jit import compiled, first_class, type_key
from ._layout import param_layout
from .backends import Validation
from .optim import GD_CODE, LBFGS_CODE

#: Rows are split into at most this many chunks (a function of n and the layer widths, never of
#: the thread count), so the fixed-order sum of chunk gradients is bit-identical for any thread
#: count.
MAX_CHUNKS = 16
#: Layers with at least this many weights (fan_in * fan_out) use BLAS (np.dot) for their
#: products, smaller ones the explicit loops. 0: BLAS everywhere, measured faster even for S's
#: 10 x 16 layer (README, "Kernel variants"); the loops stay as the variant to re-measure.
BLAS_MIN_WEIGHTS = 0
#: Rows per block. Explicit loops keep a block's activations in L1 (``ROWS_LOOPS``). BLAS layers
#: get the most rows (a power of two in ``[ROWS_LOOPS, ROWS_MAX]``) for which one block of the
#: widest layer has at most ``BLOCK_VALUES`` activations: more rows amortise each BLAS call,
#: fewer keep the sigmoid and backprop passes in cache. Layers wider than 128 units stay at
#: ``ROWS_LOOPS`` rows (and above ``BLOCK_VALUES``). Measured (README, "Kernel variants"): S (16
#: wide) is fastest at 512 rows, L (128) at 64 in both dtypes (float32 L: 38 ms per epoch at 64
#: rows, 57 at 128), M (64) within 5 % from 64 to 256 rows. ``ROWS_BLAS`` overrides the rule.
ROWS_LOOPS = 64
ROWS_MAX = 512
BLOCK_VALUES = 8192
ROWS_BLAS: int | None = None
#: Below this much work per epoch (rows x parameters) the kernels run on one thread: waking a
#: second thread every epoch costs more than it saves. Measured on this project's 2-vCPU AMD
#: EPYC VM with other work running (per epoch, one thread vs two): breast cancer (0.29 M) 183
#: vs 291 us, S (0.19 M) 167 vs 284, digits-sized 1,797 x (64, 16, 1) (1.9 M) 822 vs 954,
#: 2,000 x (32, 64, 1) (4.4 M) equal, 5,000 rows (11 M) 4.0 vs 2.9 ms. On an idle machine two
#: threads win from smaller sizes (Intel, idle: S 58 vs 106 us), but users' machines are never
#: idle. Results do not depend on it (chunks are fixed by n and the layer widths).
PARALLEL_MIN_WORK = 4_000_000
#: OpenBLAS threads a GEMM only above about this many multiply-adds (m * n * k); below it,
#: there is no need to pin BLAS to one thread around the kernels (which costs ~0.3 ms a call).
BLAS_THREADED_MIN = 2**18

_blas_controller: ThreadpoolController | None = None


def chunk_bounds(n: int, rows: int) -> np.ndarray:
    """Row bounds of at most ``MAX_CHUNKS`` chunks of whole ``rows``-row blocks over ``n`` rows."""
    n_blocks = -(-n // rows)
    n_chunks = min(MAX_CHUNKS, n_blocks)
    edges = (np.arange(n_chunks + 1) * n_blocks) // n_chunks
    return np.minimum(edges * rows, n).astype(np.int64)


def kernel_input(X) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernels' ``X`` for checked inputs: the flat C-ordered rows of a dense ``(n, d)``
    array, or a CSR matrix's ``(data, indices, indptr)`` (no copy either way; the kernels
    multiply a sparse ``X`` sparsely, row block by row block: ``_kernels.block_of``)."""
    if isinstance(X, np.ndarray):
        return X.ravel()
    return (X.data, X.indices, X.indptr)


def block_rows(widest: int, blas: bool) -> int:
    """Rows per block for a network whose widest layer has ``widest`` units (``BLOCK_VALUES``)."""
    if not blas:
        return ROWS_LOOPS
    if ROWS_BLAS is not None:
        return ROWS_BLAS
    rows = ROWS_LOOPS
    while rows < ROWS_MAX and 2 * rows * widest <= BLOCK_VALUES:
        rows *= 2
    return rows


def _blas_single_threaded():
    """Context in which every loaded BLAS uses one thread (controller built once: ~1 ms)."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


_PAGE = 4096


def _scratch(threads: int, specs: list[tuple[int, type]]) -> list[np.ndarray]:
    """Per-thread scratch arrays ``(threads, >= width)`` carved from one buffer.

    Every row starts on a 4 KiB page boundary plus an offset that differs from array to array.
    Separately allocated large arrays tend to start at the same offset within a page, and then
    a loop that stores to one while loading the other (the backprop reads activations and
    writes deltas) can make the CPU mistake the loads for dependent on the stores ("4K
    aliasing"): measured 3x slower on the L workload's sigmoid when it still had a separate
    integer scratch array.
    """
    rows_bytes = [-(-width * np.dtype(dt).itemsize // _PAGE) * _PAGE for width, dt in specs]
    raw = np.empty(sum(threads * rb for rb in rows_bytes) + 2 * _PAGE, np.uint8)
    start = -raw.ctypes.data % _PAGE
    out = []
    for k, ((_width, dt), rb) in enumerate(zip(specs, rows_bytes, strict=True)):
        offset = start + k * (_PAGE // len(specs)) // 64 * 64
        flat = raw[offset : offset + threads * rb].view(dt)
        out.append(flat.reshape(threads, rb // np.dtype(dt).itemsize))
        start += threads * rb
    return out


#: Idle engines kept for reuse (``Engine.acquire``), one per (layers, n, dtype), for this many
#: recently used sizes, per thread: building one costs about 0.1 ms, a small problem's whole
#: epoch.
POOL_SIZES = 8
_local = threading.local()


def _idle() -> dict[tuple, Engine]:
    """This thread's idle engines, oldest first."""
    try:
        return _local.idle
    except AttributeError:
        _local.idle = {}
        return _local.idle


class Engine:
    """Buffers and kernel calls for a network of widths ``layers`` on ``n`` rows of ``dtype``.

    ``Engine.acquire`` hands out an idle engine of that size (or a new one) and ``release``
    gives it back: an engine is used by one call at a time, and idle ones belong to a thread,
    so threads, and a callback that calls the network during its ``fit``, each get their own
    buffers.
    """

    @classmethod
    def acquire(cls, layers: Sequence[int], n: int, dtype: np.dtype) -> Engine:
        key = (tuple(int(s) for s in layers), n, np.dtype(dtype).str)
        engine = _idle().pop(key, None)
        return cls(layers, n, dtype) if engine is None else engine

    def release(self) -> None:
        """Give the engine back for reuse (it must not be used after this)."""
        idle = _idle()
        idle.pop(self.key, None)  # (re)inserted as the newest
        idle[self.key] = self
        if len(idle) > POOL_SIZES:
            del idle[next(iter(idle))]

    def __init__(self, layers: Sequence[int], n: int, dtype: np.dtype) -> None:
        sizes = np.asarray(layers, dtype=np.int64)
        fan = sizes[:-1] * sizes[1:]
        self.sizes = sizes
        self.offs, self.n_params = param_layout(sizes)
        self.blas = (fan >= BLAS_MIN_WEIGHTS).astype(np.uint8)
        self.rows = rows = block_rows(int(sizes[1:].max()), bool(self.blas.any()))
        self.aoff = rows * np.concatenate(([0], np.cumsum(sizes[1:])[:-1])).astype(np.int64)
        self.dtype = np.dtype(dtype)
        self.n = n
        self.key = (tuple(int(s) for s in sizes), n, self.dtype.str)
        self.serial = n * self.n_params < PARALLEL_MIN_WORK
        gemm = int(max(fan[self.blas == 1], default=0)) * min(rows, n)
        self.pin_blas = gemm >= BLAS_THREADED_MIN

        self.bounds = chunk_bounds(n, rows)
        n_chunks = self.bounds.shape[0] - 1
        width = rows * int(sizes[1:].max())
        # Scratch per thread (numba.get_thread_id() < NUMBA_NUM_THREADS), sums per chunk.
        threads = numba.config.NUMBA_NUM_THREADS
        self.act, self.zo, self.d1, self.d2, self.gtmp = _scratch(
            threads,
            [
                (rows * int(sizes[1:].sum()), dtype),
                (rows * int(sizes[-1]), dtype),
                (width, dtype),
                (width, dtype),
                (int(fan.max()), dtype),
            ],
        )
        self.gbuf = np.empty((n_chunks, self.n_params), dtype)
        self.closs = np.empty(n_chunks, dtype)
        self.g = np.empty(self.n_params, dtype)
        self._no_weights = np.empty(0, dtype)
        # the held-out arguments of a fit without held-out rows (never read nor written then)
        self._no_held = (np.zeros(1, np.int64), _kernels.NO_VALIDATION, False, np.zeros((1, 1)),
                         np.zeros(4), np.zeros((0, 2)), self.g[:0])  # fmt: skip
        self._entries: dict[tuple, object] = {}

    def _entry(self, kernel, callers, args):
        """``compiled(kernel, *args)``, looked up by the types of the ``callers``' arrays only:
        the engine's own buffers always have the same types."""
        key = (kernel, *map(type_key, callers))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = compiled(kernel, *args)
        return entry

    def _threads(self):
        """BLAS single-threaded inside the kernels (the kernels' own threads split the rows),
        and at most ``set_threads``'s numba threads (small problems run the serial kernels,
        which use none); nothing to do (and nothing done: each of these calls costs
        microseconds) in the common case."""
        want = None if self.serial else _jit.max_threads  # serial kernels use no numba threads
        if want is None and not self.pin_blas:
            return nullcontext()
        return self._limited_threads(want)

    @contextmanager
    def _limited_threads(self, want: int | None):
        before = numba.get_num_threads()
        with _blas_single_threaded() if self.pin_blas else nullcontext():
            if want is not None and want < before:
                numba.set_num_threads(want)
            try:
                yield
            finally:
                numba.set_num_threads(before)

    def _common(self):
        return (self.sizes, self.offs, self.blas, self.aoff, self.rows, self.bounds, self.act,
                self.zo)  # fmt: skip

    def loss_grad(
        self, params: np.ndarray, X: np.ndarray, Y: np.ndarray, loss_fn, scale=1.0, output=0,
        weights=None, alpha=0.0, loss_w=None,
    ):  # fmt: skip
        """Loss and gradient over the rows of ``X`` (``kernel_input``), both multiplied by
        ``scale``.

        ``output`` is the output layer's code (``_kernels.SIGMOID_OUT``, ...); ``weights`` the
        rows' weights (``None``: all 1); ``alpha`` the L2 penalty's (scikit-learn's: ``alpha/2 *
        sum(W^2)`` times ``scale``); ``loss_w`` the loss's weighted form, if it has one.

        With the default ``scale=1`` these are the (weighted) sums over the rows (what a
        data-parallel partition contributes); ``scale=None`` gives the mean loss and its
        gradient. The gradient is ``self.g`` (overwritten by the next call).
        """
        hist = np.empty(1, self.dtype)
        empty = np.empty(0, self.dtype)
        common = self._args(params, X, Y, loss_fn, scale, output, weights, alpha, loss_w)
        # ``train`` with epochs=0 only evaluates (one compiled kernel for both uses)
        args = (*common, np.int64(GD_CODE), np.zeros(1), empty, np.zeros(1), 0, -1.0, 1,
                np.zeros(2), hist, *self._validation_args(None, X, Y, common[3]))  # fmt: skip
        train = self._entry(_kernels.train, (params, X, Y, common[3]), args)
        with self._threads():
            train(*args)
        return hist[0], self.g

    def _args(self, params, X, Y, loss_fn, scale, output=0, weights=None, alpha=0.0,
              loss_w=None):  # fmt: skip
        """The arguments every training kernel starts with (``evaluate``'s): ``scale=None``
        is ``1/n``, or ``1/sum(weights)`` with row weights; the penalty's factor is
        ``alpha * scale``. Without a weighted form ``loss_w``, weighted rows go through
        ``loss_fn`` one by one (``_kernels.backward_block``). The last, ``parallel``, is
        ``None`` for a serial engine: the kernels' variant that runs on the calling thread
        (``_kernels.evaluate_on``)."""
        if weights is None:
            weights = self._no_weights
        if scale is None:
            scale = 1.0 / (
                self.n if weights.shape[0] == 0 else float(weights.sum(dtype=np.float64))
            )
        native = loss_w is not None
        fc_w = first_class(loss_w if native else _kernels.mse_weighted, self.dtype, weighted=True)
        return (params, X, Y, weights, *self._common(), self.d1, self.d2, self.gtmp, self.gbuf,
                self.closs, first_class(loss_fn, self.dtype), fc_w, native, int(output), self.g,
                self.dtype.type(scale), float(alpha) * float(scale),
                None if self.serial else True)  # fmt: skip

    def _validation_args(self, validation: Validation | None, X, Y, weights) -> tuple:
        """The kernels' held-out arguments (``_kernels.end_epoch``); without ``validation``,
        ``None`` for the rows (which compiles the kernels without the held-out pass) and empty
        arrays for the rest."""
        if validation is None:  # ``Xv=None``: the kernels' variant without a held-out pass
            return (None, Y[:0], weights[:0], *self._no_held)
        v = validation
        k = int(self.sizes[-1])
        bounds = chunk_bounds(v.X.shape[0], self.rows)
        width = 1 + (k if v.metric == _kernels.R2 else 1)
        vacc = np.zeros((bounds.shape[0], width))  # a row per chunk, and one for their sum
        vw = weights[:0] if v.weights is None else v.weights
        return (kernel_input(v.X), v.Y.ravel(), vw, bounds, int(v.metric), bool(v.early), vacc,
                v.vstate, v.record, v.pbest)  # fmt: skip

    def trainer(
        self, params, X, Y, loss_fn, optimizer, vec, scal, tol, n_iter_no_change, state,
        scale=None, output=0, weights=None, alpha=0.0, loss_w=None, validation=None,
    ):  # fmt: skip
        """``run(epochs, hist) -> (epochs_run, status)``: a block of epochs of ``optimizer``
        (``train``, or ``train_lbfgs`` for L-BFGS), in place on ``params`` and the optimizer's
        state ``vec``/``scal`` (``fastnet.optim``).

        The loss is the (``weights``-weighted) sum over rows times ``scale`` (default ``1/n`` or
        ``1/sum(weights)``: the mean), plus the L2 penalty ``alpha/2 * sum(W^2)`` times
        ``scale``. With a ``Validation``, each epoch's held-out loss and score go to
        ``validation.record`` (row ``e`` for the ``e``-th epoch this runner runs).
        """
        common = self._args(params, X, Y, loss_fn, scale, output, weights, alpha, loss_w)
        hp = optimizer.hyper()
        if optimizer.code == LBFGS_CODE:
            n, dt = self.n_params, self.dtype
            scratch = (np.empty(n, dt), np.empty(n, dt), np.empty(n, dt),
                       np.empty(optimizer.history))  # fmt: skip
            kernel, args = _kernels.train_lbfgs, (*common, hp, vec, scal, *scratch)
        else:
            kernel, args = _kernels.train, (*common, np.int64(optimizer.code), hp, vec, scal)
        tail = (tol, n_iter_no_change, state)
        held = self._validation_args(validation, X, Y, common[3])
        record = held[8]
        # The engine's own buffers always have the same types: only the caller's arrays (and
        # the kernel) can change which compiled variant runs.
        train = self._entry(kernel, (params, X, Y, common[3], vec, scal, state, *held[:3]),
                            (*args, 1, *tail, np.empty(1, self.dtype), *held))  # fmt: skip
        done = 0

        def run(epochs: int, hist: np.ndarray) -> tuple[int, int]:
            nonlocal done
            rec = record[done : done + epochs] if validation is not None else record
            with self._threads():
                ran, status = train(*args, epochs, *tail, hist, *held[:8], rec, held[9])
            done += ran
            return ran, status

        return run

    def predict(self, params: np.ndarray, X: np.ndarray, logits: bool = False) -> np.ndarray:
        """Output activations (``logits``: the output layer's logits, before its activation)
        of the rows of ``X`` (``kernel_input``), as a flat ``(n * k,)`` array."""
        out = np.empty(self.n * int(self.sizes[-1]), self.dtype)
        args = (params, X, *self._common(), bool(logits), out)
        if self.serial:  # on this thread: no thread-pool calls (the parallel kernel's ~10 us)
            predict = self._entry(_kernels.predict_serial, (params, X), args)
            with _blas_single_threaded() if self.pin_blas else nullcontext():
                predict(*args)
        else:
            predict = self._entry(_kernels.predict, (params, X), args)
            with self._threads():
                predict(*args)
        return out
