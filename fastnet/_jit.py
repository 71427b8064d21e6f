"""Numba settings in one place.

Every kernel is cached on disk (``cache=True``) so a new process with a warm cache does not
recompile, and runs without ``fastmath``: results must match the NumPy reference to the last
few ulps, and ``fastmath`` lets LLVM reorder sums and drop NaN/inf handling.
"""

from __future__ import annotations

import numba
from numba import types
from numba.core.dispatcher import Dispatcher

JIT_OPTIONS = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}

#: Serial kernels and the small helpers they call.
jit = numba.njit(**JIT_OPTIONS)

#: Kernels whose row blocks are spread over threads with ``numba.prange``.
parallel_jit = numba.njit(parallel=True, **JIT_OPTIONS)


def loss_type(dtype) -> types.FunctionType:
    """Numba type of a loss function ``(z, p, y, delta) -> total`` over 1-D ``dtype`` arrays."""
    scalar = numba.from_dtype(dtype)
    arr = scalar[::1]
    return types.FunctionType(scalar(arr, arr, arr, arr))


_ENTRY_POINTS: dict = {}


def compiled(kernel, *args):
    """``kernel``'s compiled entry point for the types of ``args``, compiled (or loaded from the
    disk cache) once per process.

    A jitted loss passed as an argument is typed as a first-class ``FunctionType`` of the
    params' dtype (``args[0]``), not as its own dispatcher type: the dispatcher type carries
    the function's memory address, which changes every process and would defeat the on-disk
    cache (the kernel would recompile in every new process).
    """
    sig = tuple(
        loss_type(args[0].dtype) if isinstance(a, Dispatcher) else numba.typeof(a) for a in args
    )
    entry = _ENTRY_POINTS.get((kernel, sig))
    if entry is None:
        entry = _ENTRY_POINTS[(kernel, sig)] = kernel.compile(sig)
    return entry
