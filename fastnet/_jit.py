"""Numba settings in one place.

Every kernel is cached on disk (``cache=True``) so a new process with a warm cache does not
recompile, and runs without ``fastmath``: results must match the NumPy reference to the last
few ulps, and ``fastmath`` lets LLVM reorder sums and drop NaN/inf handling.
"""

from __future__ import annotations

import numba

JIT_OPTIONS = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}

#: Serial kernels and the small helpers they call.
jit = numba.njit(**JIT_OPTIONS)

#: Kernels whose row blocks are spread over threads with ``numba.prange``.
parallel_jit = numba.njit(parallel=True, **JIT_OPTIONS)
