"""Numba settings in one place.

Every kernel is cached on disk (``cache=True``) so a new process with a warm cache does not
recompile, and runs without ``fastmath``: results must match the NumPy reference to the last
few ulps, and ``fastmath`` lets LLVM reorder sums and drop NaN/inf handling.
"""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import types
from numba.core.dispatcher import Dispatcher
from numba.experimental.function_type import _get_wrapper_address

JIT_OPTIONS = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}

#: Serial kernels and the small helpers they call.
jit = numba.njit(**JIT_OPTIONS)

#: Kernels whose row blocks are spread over threads with ``numba.prange``.
parallel_jit = numba.njit(parallel=True, **JIT_OPTIONS)


def loss_type(dtype, weighted: bool = False) -> types.FunctionType:
    """Numba type of a loss function ``(z, p, y, delta) -> total`` over 1-D ``dtype`` arrays;
    ``weighted``: of a built-in loss's weighted form ``(z, p, y, w, delta) -> total``."""
    scalar = numba.from_dtype(dtype)
    arr = scalar[::1]
    return types.FunctionType(scalar(*(arr,) * (5 if weighted else 4)))


class FirstClass:
    """A jitted function to pass to a kernel as a first-class function, its address resolved
    once (numba's ``__wrapper_address__`` protocol).

    Passed as the dispatcher itself, numba looks the compiled function up again on every call
    (``get_compile_result`` and an LLVM symbol lookup, about 0.2 ms: more than a small
    problem's whole epoch). The kernel then calls it through its C wrapper, once per row block.
    """

    __slots__ = ("address", "dispatcher", "type")

    def __init__(self, dispatcher: Dispatcher, dtype, weighted: bool = False) -> None:
        self.dispatcher = dispatcher
        self.type = loss_type(dtype, weighted)
        self.address = _get_wrapper_address(dispatcher, self.type.signature)

    def __wrapper_address__(self) -> int:
        return self.address


_FIRST_CLASS: dict = {}


def first_class(dispatcher: Dispatcher, dtype, weighted: bool = False) -> FirstClass:
    """The ``FirstClass`` of a loss (``weighted``: of its weighted form) for ``dtype``
    (compiled, or loaded from the disk cache, and resolved once per process)."""
    key = (dispatcher, np.dtype(dtype).str, weighted)
    fc = _FIRST_CLASS.get(key)
    if fc is None:
        fc = _FIRST_CLASS[key] = FirstClass(dispatcher, dtype, weighted)
    return fc


_ENTRY_POINTS: dict = {}


def type_key(a) -> object:
    """What numba's type of ``a`` depends on, cheaply (``numba.typeof`` costs ~20 us a call:
    for a kernel's ~30 arguments that was most of a small ``fit``'s fixed cost)."""
    if isinstance(a, np.ndarray):
        f = a.flags
        layout = "C" if f.c_contiguous else "F" if f.f_contiguous else "A"
        return (a.dtype.str, a.ndim, layout, f.writeable, f.aligned)
    if isinstance(a, FirstClass):
        return a.type
    if isinstance(a, tuple):  # a CSR matrix's (data, indices, indptr): typed per element
        return tuple(map(type_key, a))
    return type(a)


def compiled(kernel, *args):
    """``kernel``'s compiled entry point for the types of ``args``, compiled (or loaded from the
    disk cache) once per process.

    A loss is passed as a ``FirstClass`` and typed as its first-class ``FunctionType`` (of the
    params' dtype), not as its own dispatcher type: the dispatcher type carries
    the function's memory address, which changes every process and would defeat the on-disk
    cache (the kernel would recompile in every new process).
    """
    key = (kernel, args[0].dtype.str, *map(type_key, args))
    entry = _ENTRY_POINTS.get(key)
    if entry is None:
        sig = tuple(a.type if isinstance(a, FirstClass) else numba.typeof(a) for a in args)
        entry = _ENTRY_POINTS[key] = kernel.compile(sig)
    return entry


#: OpenMP's wait policy for numba's threads (numba's ``omp`` threading layer, the one numba
#: picks here). libgomp's default lets a thread that waits for the next parallel region spin;
#: when another process holds a core, the spinning thread takes the time slices the working
#: one needs, and every epoch waits for both. Measured on this project's 2-vCPU VM with one
#: other busy process, 500 epochs of breast cancer's (30, 16, 1) network: 4,024 ms spinning,
#: 59 ms passive (67 ms on one thread). Set ``OMP_WAIT_POLICY`` yourself to override.
OMP_WAIT_POLICY = "PASSIVE"


def start_threading_layer() -> None:
    """Start numba's threading layer now, with ``OMP_WAIT_POLICY`` (unless the user set one).

    libgomp reads the variable once, when it starts; it is set only for that moment, so the
    OpenMP runtimes of other libraries loaded later (torch, scikit-learn) see the environment
    as it was. Also required before any kernel is loaded from the disk cache (``_kernels``).
    """
    user_set = "OMP_WAIT_POLICY" in os.environ
    if not user_set:
        os.environ["OMP_WAIT_POLICY"] = OMP_WAIT_POLICY
    try:
        numba.get_num_threads()  # loads and starts the threading layer
    finally:
        if not user_set:
            del os.environ["OMP_WAIT_POLICY"]


#: The most threads the kernels use (``set_threads``); ``None``: numba's own setting.
max_threads: int | None = None


def set_threads(threads: int | None) -> int | None:
    """Use at most ``threads`` threads in fastnet's kernels (``None``: numba's setting, all the
    cores unless ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads`` say otherwise); returns the
    previous value, so ``fastnet.set_threads(previous)`` restores it.

    Results do not depend on it: rows are split into the same chunks for any thread count.
    Problems below ``_engine.PARALLEL_MIN_WORK`` rows x parameters run on one thread anyway.
    """
    global max_threads
    if threads is not None:
        limit = numba.config.NUMBA_NUM_THREADS
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
            raise TypeError(f"threads must be an integer or None, got {type(threads).__name__}")
        if not 1 <= threads <= limit:
            raise ValueError(
                f"threads must be between 1 and {limit} (NUMBA_NUM_THREADS), got {threads}"
            )
        threads = int(threads)
    previous, max_threads = max_threads, threads
    return previous


def get_threads() -> int | None:
    """The limit ``set_threads`` set (``None``: none)."""
    return max_threads
