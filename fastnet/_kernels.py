"""Fused Numba kernels: forward pass, loss, sigmoid-derivative backprop and update; and the
built-in losses (registered by name in ``losses.py``).

Private: ``_engine.py`` allocates the buffers and ``network.py`` validates; these functions only
compute. No Python objects in here, and nothing is allocated per epoch.

Layout (built by ``_engine.Engine``):

* ``params`` -- one flat vector; layer ``l`` stores ``W_l`` (``fan_in x fan_out``, row-major)
  at ``params[offs[l]:]`` followed by ``b_l`` (``fan_out``). Gradients use the same layout.
* ``sizes`` -- the layer widths ``(d, h1, ..., k)``; ``blas[l]`` says whether layer ``l``'s
  products go to BLAS (``np.dot``: large layers are GEMM-bound) or to explicit loops (small
  layers are call-overhead-bound). ``Engine`` chooses, from measurements (README).
* ``X``, ``Y`` -- the flattened, C-ordered ``(n, d)`` inputs and ``(n, k)`` targets. ``X``
  may instead be a CSR matrix's ``(data, indices, indptr)``: only the first layer reads the
  inputs, through ``block_of``, ``input_forward`` and ``input_grad``, whose dense and sparse
  forms are chosen by ``X``'s type, so every kernel compiles a second specialisation for sparse
  inputs when (and only when) one is used (see "the input layer" below).
* Rows are processed in blocks of ``rows``; ``bounds`` splits the rows into chunks (aligned to
  ``rows``) that depend on ``n`` and the layer widths only. Each chunk accumulates its own
  gradient sum, and the chunk sums are added in a fixed order, so results are bit-identical
  for any number of threads (BLAS runs single-threaded inside, see ``Engine``).
* Scratch per thread ``t`` (``numba.get_thread_id()``): ``act[t]`` holds every layer's
  activations of one row block (layer ``l + 1`` at ``act[t, aoff[l]:]``), ``zo[t]`` the output
  logits, ``d1[t]``/``d2[t]`` the deltas (ping-pong), ``gtmp[t]`` a BLAS product. Per chunk
  ``c``: ``gbuf[c]`` its gradient sum, ``closs[c]`` its loss sum. Scratch is always written
  before it is read, so which thread runs a chunk never changes a result.

Array-to-array slice assignments (``a[i:j] = b[k:l]``) are written as loops on purpose: numba
compiles a shape-mismatch error path with string formatting for each of them, which added
about 2 s to the cold compile.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import get_thread_id, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._jit import JIT_OPTIONS, jit, parallel_jit, start_threading_layer
from .optim import (
    ADAM_CODE,
    GD_CODE,
    LB_COUNT,
    LB_EVALS,
    LB_F,
    LB_HAVE,
    LB_HEAD,
    LB_RHO,
    LB_T,
    MOMENTUM_CODE,
    NESTEROV_CODE,
    WOLFE_C1,
    WOLFE_C2,
    WOLFE_XTOL,
)

# Start numba's threading layer before any kernel is compiled or loaded from the disk cache.
# ``train`` and ``train_lbfgs`` are serial kernels that call the parallel ``evaluate``. Numba
# (up to at least 0.68; numba#8578, numba#4807, the fix in PR numba#9950 is not merged) records
# "start the threading layer when loading this from the cache" only for a kernel compiled
# together with its parallel callee: one compiled in a process that had loaded ``evaluate`` from
# the cache is cached without it. Loaded first in a later process, before the threading layer
# exists, its calls into the parallel scheduler are left unresolved and the first call crashes
# (measured: ``fit(optimizer="lbfgs")`` in a fresh process whose cached ``train_lbfgs`` was
# compiled after a cached ``train`` had been loaded). ``start_threading_layer`` starts it.
start_threading_layer()

#: Status codes returned by ``train``.
RAN_ALL = 0
CONVERGED = 1
DIVERGED = 2

#: Output-layer codes (``output`` argument of the training kernels; ``losses.OUTPUT_CODES``
#: maps the names). Hidden layers are always sigmoids.
SIGMOID_OUT = 0
SOFTMAX_OUT = 1
LINEAR_OUT = 2


# ----------------------------------------------------------------------------- the sigmoid
# Numba's PyPI build has no SVML, so ``np.exp`` in a loop is a scalar libm call per element and
# the sigmoid of the hidden activations costs more than the matrix products of small layers.
# This exp is written so that LLVM vectorises it: Cody-Waite range reduction x = t ln2 + r with
# |r| <= ln2 / 2, a polynomial for e^r (float64: degree 11, ``mpmath.chebyfit``, error 3e-18;
# float32: degree 7 Taylor; both below half an ulp), and 2^t built in the exponent bits
# (``_pow2``). Measured (tests/test_kernels.py) within 2 ulps of the correctly rounded sigmoid
# on [-40, 40]; inputs are clamped so exp never overflows: the sigmoid saturates to at most the
# smallest normal number above 0 (float64 gives exactly 0 below z = -88.7, where the float32
# reciprocal's argument overflows) and to exactly 1 on the other side, never NaN.
#
# Three flat passes (bias, exp, reciprocal) over the block: the exp and reciprocal passes run
# over all ``m * fo`` values whatever the layer width, so a one-unit output layer vectorises as
# well as a wide hidden one (a row-by-column nest vectorised only along the columns: 4.2 ns per
# value for one output, 1.5 for the flat pass).


@intrinsic
def _pow2(typingctx, t):
    """``2.0 ** t`` for an integral-valued float ``t`` in the normal exponent range, built
    directly in the exponent bits (float to int, add the bias, shift, bit cast): vectorisable,
    unlike ``np.ldexp``. The caller clamps ``t``; nothing here checks it."""
    if t not in (types.float64, types.float32):
        return None
    wide = t == types.float64
    bias, shift = (1023, 52) if wide else (127, 23)

    def codegen(context, builder, signature, args):
        ity = ir.IntType(64 if wide else 32)
        # Through int32 (|t| < 2^31): AVX2 converts packed doubles to int32 (vcvttpd2dq) but
        # has no packed double -> int64 conversion, which LLVM then does lane by lane
        # (measured on AMD Zen 3: the float64 exp pass 3x slower).
        k = builder.fptosi(args[0], ir.IntType(32))
        if wide:
            k = builder.sext(k, ity)
        k = builder.shl(builder.add(k, ir.Constant(ity, bias)), ir.Constant(ity, shift))
        return builder.bitcast(k, context.get_value_type(t))

    return t(t), codegen


#: Whether ``_wide_vectors`` takes effect (read when a function is compiled; the kernel-variant
#: benchmark switches it off to re-measure 256-bit code).
WIDE_VECTORS = True


@intrinsic
def _wide_vectors(typingctx):
    """Let LLVM vectorise the calling function's loops with 512-bit registers where the CPU has
    them (AVX-512); a no-op elsewhere (checked by compiling for an AVX2 CPU).

    LLVM tunes recent Intel CPUs to prefer 256-bit vectors for all code (wide registers can
    lower the clock of unrelated code). Our loops are long, arithmetic-bound streams, measured
    faster with 512 bits: per epoch, S and M 7-12 %, Deep 5-7 %, L up to 9 % (README, "Kernel
    variants"). ``"prefer-vector-width"`` is the attribute clang's ``-mprefer-vector-width=512``
    sets; ``"min-legal-vector-width"`` lets the backend keep 512-bit vectors whole instead of
    splitting them. llvmlite's attribute set only accepts flag attributes, hence ``set.add``.
    """

    def codegen(context, builder, signature, args):
        if WIDE_VECTORS:
            attrs = builder.function.attributes
            try:
                set.add(attrs, '"prefer-vector-width"="512"')
                set.add(attrs, '"min-legal-vector-width"="512"')
            except TypeError:  # a future llvmlite without set-based attributes: 256-bit code
                pass
        return context.get_dummy_value()

    return types.none(), codegen


def sigmoid_inplace(buf, b, z, keep_z):
    """``buf = 1 / (1 + exp(-(buf + b)))`` over a flattened ``(m, fo)`` block, ``b`` of length
    ``fo``; with ``keep_z`` the logits ``buf + b`` are also written to ``z``."""
    raise NotImplementedError("compiled only: call from numba code")


# Inlined into the sigmoid (numba IR), so that it is compiled, vectorised and cached as part of
# its caller, never as a separate function with its own vector width.
@numba.njit(inline="always", error_model="numpy")
def _add_bias(buf, b, z, keep_z):
    n = buf.shape[0]
    fo = b.shape[0]
    if fo == 1:
        b0 = b[0]
        for i in range(n):
            buf[i] += b0
    else:
        for row in range(n // fo):
            for j in range(fo):
                buf[row * fo + j] += b[j]
    if keep_z:
        for i in range(n):
            z[i] = buf[i]


# Inlined (numba IR) into the loops that call it, so that they still vectorise.
@numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
def _exp_f64(x):
    """``e^x`` for float64 ``x`` in [-708, 709] (callers clamp): ``x = t ln2 + r``, the
    polynomial for ``e^r``, times ``2^t``."""
    t = np.floor(x * 1.4426950408889634 + 0.5)
    r = (x - t * 6.93147180369123816490e-01) - t * 1.90821492927058770002e-10
    p = 2.5110037605963777e-08
    p = p * r + 2.763263963904103e-07
    p = p * r + 2.755724091857897e-06
    p = p * r + 2.4801485482328494e-05
    p = p * r + 0.00019841269890047113
    p = p * r + 0.0013888888952314775
    p = p * r + 0.008333333333319601
    p = p * r + 0.0416666666664881
    p = p * r + 0.1666666666666668
    p = p * r + 0.5000000000000019
    p = p * r + 1.0
    return (p * r + 1.0) * _pow2(t)


@numba.njit(inline="always", error_model="numpy", fastmath={"contract"})
def _exp_f32(x):
    """``e^x`` for float32 ``x``, clamped to [-87, 88]: ``x = t ln2 + r``, the degree-7 Taylor
    polynomial for ``e^r``, times ``2^t``."""
    f = np.float32
    one, half = f(1.0), f(0.5)
    x = min(max(x, f(-87.0)), f(88.0))
    t = np.floor(x * f(1.44269504) + half)
    r = (x - t * f(0.693359375)) - t * f(-2.12194440e-4)
    p = f(1.0 / 5040.0)
    p = p * r + f(1.0 / 720.0)
    p = p * r + f(1.0 / 120.0)
    p = p * r + f(1.0 / 24.0)
    p = p * r + f(1.0 / 6.0)
    p = p * r + half
    p = p * r + one
    return (p * r + one) * _pow2(t)  # e^r 2^t


@numba.njit(inline="always", error_model="numpy")
def _reciprocal_1p(e):
    """``1 / (1 + e)`` by a float32 division refined by two Newton steps (24 -> 48 -> full
    bits, within 1 ulp): vdivpd is the slowest instruction here. When ``1 + e`` overflows
    float32 (z < -88.7) the result is 0, as 1 / (1 + exp(-z)) is in libm when exp overflows."""
    d = 1.0 + e
    y = np.float64(np.float32(1.0) / np.float32(d))
    y = y + y * (1.0 - d * y)
    return y + y * (1.0 - d * y)


# The exp and reciprocal passes take the two halves of the block in one loop: each value is a
# long chain of dependent multiply-adds, and two independent chains per iteration let the CPU
# overlap them (measured on AMD Zen 3, AVX2, a block of 8,192 float64 values: 39 -> 25 us; a
# 4,096-value block, which fits the 32 KiB L1, 12.5 us either way; the same values).
def _sigmoid_f64(buf, b, z, keep_z):
    _wide_vectors()
    _add_bias(buf, b, z, keep_z)
    n = buf.shape[0]
    h = n // 2
    for i in range(h):
        lo, hi = buf[i], buf[h + i]
        buf[i] = _exp_f64(min(max(-lo, -708.0), 709.0))
        buf[h + i] = _exp_f64(min(max(-hi, -708.0), 709.0))
    for i in range(2 * h, n):
        buf[i] = _exp_f64(min(max(-buf[i], -708.0), 709.0))
    for i in range(h):
        lo, hi = buf[i], buf[h + i]
        buf[i] = _reciprocal_1p(lo)
        buf[h + i] = _reciprocal_1p(hi)
    for i in range(2 * h, n):
        buf[i] = _reciprocal_1p(buf[i])


def _sigmoid_f32(buf, b, z, keep_z):
    _wide_vectors()
    _add_bias(buf, b, z, keep_z)
    one = np.float32(1.0)
    n = buf.shape[0]
    for i in range(n):
        buf[i] = _exp_f32(-buf[i])
    for i in range(n):
        buf[i] = one / (one + buf[i])


# The one fastmath flag used anywhere: "contract" lets LLVM fuse the polynomial's multiply-adds
# into FMA instructions (fewer roundings, not more; no reordering, NaN/inf semantics kept). It
# makes the sigmoid about 1.6x faster (bench/test_bench_variants.py).
@overload(sigmoid_inplace, jit_options={**JIT_OPTIONS, "fastmath": {"contract"}})
def _sigmoid_overload(buf, b, z, keep_z):
    if buf.dtype == types.float64:
        return _sigmoid_f64
    if buf.dtype == types.float32:
        return _sigmoid_f32
    return None


# ----------------------------------------------------------------------------- losses
# Registered by name in ``losses.py``; see there for the interface.


@jit
def _sum(a):
    """Sum of ``a`` in a fixed order, by four running sums: one running sum makes every
    addition wait for the previous one (about 4x slower), and a fixed order keeps the results
    deterministic."""
    n = a.shape[0]
    s0 = s1 = s2 = s3 = a.dtype.type(0)
    full = n - n % 4
    for i in range(0, full, 4):
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
    for i in range(full, n):
        s0 += a[i]
    return (s0 + s1) + (s2 + s3)


# Each built-in loss has a weighted form ``name_weighted(z, p, y, w, delta)``: ``w`` holds the
# row weights of the block (``len(z) / len(w)`` outputs per row; empty: unweighted), and the
# plain ``name(z, p, y, delta)`` (the registered block function) is it with no weights. The
# kernels call the weighted form for weighted rows (``backward_block``).
@jit
def _weigh(e, w):
    """``e *= w`` row by row, for the block's ``m = len(w)`` rows of ``len(e) / m`` values;
    nothing when ``w`` is empty."""
    m = w.shape[0]
    if m == 0:
        return
    n = e.shape[0]
    if n == m:
        for i in range(n):
            e[i] *= w[i]
        return
    k = n // m
    for i in range(m):
        wi = w[i]
        for j in range(i * k, i * k + k):
            e[j] *= wi


@jit
def _weighted_sum(e, w):
    """``sum(w_row * e)`` of the per-output losses ``e`` (overwritten), in ``_sum``'s order."""
    _weigh(e, w)
    return _sum(e)


@jit
def mse(z, p, y, delta):
    """Squared error ``(p - y)^2``; ``dJ/dz = 2 (p - y) p (1 - p)`` (the sigmoid derivative)."""
    return mse_weighted(z, p, y, p[:0], delta)


@jit
def mse_weighted(z, p, y, w, delta):
    """``mse`` with row weights ``w``.

    The per-output losses go through ``delta`` first, so that every loop vectorises."""
    _wide_vectors()
    one = p.dtype.type(1)
    two = p.dtype.type(2)
    n = p.shape[0]
    for i in range(n):
        r = p[i] - y[i]
        delta[i] = r * r
    total = _weighted_sum(delta[:n], w)
    for i in range(n):
        delta[i] = two * (p[i] - y[i]) * p[i] * (one - p[i])
    _weigh(delta[:n], w)
    return total


# fdlibm's log: minimax coefficients of (log(1 + f) - f + f^2 / 2) in s = f / (2 + f), and ln 2
# split so that k ln2_hi is exact.
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)  # fmt: skip
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


@jit
def log_loss(z, p, y, delta):
    """Binary cross-entropy from the logits; ``dJ/dz = p - y`` (``log_loss_weighted``)."""
    return log_loss_weighted(z, p, y, p[:0], delta)


@numba.njit(**{**JIT_OPTIONS, "fastmath": {"contract"}})
def log_loss_weighted(z, p, y, w, delta):
    """Binary cross-entropy from the logits, with row weights ``w``; ``dJ/dz = p - y``.

    ``-[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log1p(exp(-|z|))`` is finite for
    every finite ``z``. With the sigmoid output, ``dJ/dp = (p - y) / (p (1 - p))`` and the
    sigmoid's derivative ``p (1 - p)`` cancel, leaving ``p - y``.

    ``log1p(exp(-|z|))`` is computed in float64 (for both dtypes) by code LLVM can vectorise,
    within 2 ulps of the correctly rounded value (tests/test_numerics.py; libm's scalar calls
    cost 11.4 ns per output, this 2.7): ``u = exp(-|z|)`` as in the kernels' sigmoid
    (``_pow2`` supplies 2^t; ``|z|`` is clamped at 708, so ``u`` stays normal), then
    ``log1p(u) = log(w1) + (u - (w1 - 1)) / w1`` with ``w1 = 1 + u`` and fdlibm's ``log``. The
    per-output losses go through ``delta`` and are summed by ``_sum``.
    """
    _wide_vectors()
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LG
    n = p.shape[0]
    for i in range(n):
        zi = np.float64(z[i])
        u = _exp_f64(max(-abs(zi), -708.0))  # exp(-|z|), in (2^-1022, 1]
        w1 = 1.0 + u
        # log(w1) = k ln2 + log(1 + f), 1 + f in [sqrt(2)/2, sqrt(2)]
        big = w1 > 1.4142135623730951
        k = 1.0 if big else 0.0
        f = (w1 * 0.5 if big else w1) - 1.0
        s = f / (2.0 + f)
        s2 = s * s
        s4 = s2 * s2
        R = s4 * (lg2 + s4 * (lg4 + s4 * lg6)) + s2 * (lg1 + s4 * (lg3 + s4 * (lg5 + s4 * lg7)))
        hfsq = 0.5 * f * f
        log_w = k * _LN2_HI - ((hfsq - (s * (hfsq + R) + k * _LN2_LO)) - f)
        # (u - (w1 - 1)) is the rounding error of w1 = 1 + u, exactly; it is divided by w1 by
        # multiplying with 2 - w1, which differs from 1 / w1 by at most (w1 - 1)^2 / w1: at
        # most half an ulp of the result (near z = 0), far less elsewhere
        delta[i] = max(zi, 0.0) - y[i] * zi + (log_w + (u - (w1 - 1.0)) * (2.0 - w1))
    total = _weighted_sum(delta[:n], w)
    for i in range(n):
        delta[i] = p[i] - y[i]
    _weigh(delta[:n], w)
    return total


@jit
def mse_linear(z, p, y, delta):
    """Squared error ``(p - y)^2`` of an identity output (``p = z``); ``dJ/dz = 2 (p - y)``."""
    return mse_linear_weighted(z, p, y, p[:0], delta)


@jit
def mse_linear_weighted(z, p, y, w, delta):
    """``mse_linear`` with row weights ``w``."""
    _wide_vectors()
    two = p.dtype.type(2)
    n = p.shape[0]
    for i in range(n):
        r = p[i] - y[i]
        delta[i] = r * r
    total = _weighted_sum(delta[:n], w)
    for i in range(n):
        delta[i] = two * (p[i] - y[i])
    _weigh(delta[:n], w)
    return total


@jit
def huber_linear(z, p, y, delta):
    """Huber loss with ``delta = 1`` of an identity output: ``r^2 / 2`` for ``|r| <= 1``, else
    ``|r| - 1/2`` (``r = p - y``); ``dJ/dz = clip(r, -1, 1)``."""
    return huber_linear_weighted(z, p, y, p[:0], delta)


@jit
def huber_linear_weighted(z, p, y, w, delta):
    """``huber_linear`` with row weights ``w``."""
    _wide_vectors()
    one = p.dtype.type(1)
    half = p.dtype.type(0.5)
    n = p.shape[0]
    for i in range(n):
        r = p[i] - y[i]
        a = abs(r)
        delta[i] = half * r * r if a <= one else a - half
    total = _weighted_sum(delta[:n], w)
    for i in range(n):
        delta[i] = min(max(p[i] - y[i], -one), one)
    _weigh(delta[:n], w)
    return total


@jit
def cross_entropy(z, p, y, delta):
    """Categorical cross-entropy of a softmax output: ``-sum_j y_j log p_j``.

    For the softmax output, ``z`` holds the log-probabilities ``log p`` (finite for any finite
    logits: see ``output_activation``) and ``delta`` receives ``dJ/d(log p) = -y``; the kernel
    turns it into ``dJ/d(logits) = p sum(y) - y`` (``softmax_delta``), ``p - y`` for rows that
    sum to 1."""
    return cross_entropy_weighted(z, p, y, p[:0], delta)


@jit
def cross_entropy_weighted(z, p, y, w, delta):
    """``cross_entropy`` with row weights ``w``."""
    _wide_vectors()
    n = p.shape[0]
    for i in range(n):
        delta[i] = -(y[i] * z[i])
    total = _weighted_sum(delta[:n], w)
    for i in range(n):
        delta[i] = -y[i]
    _weigh(delta[:n], w)
    return total


# ----------------------------------------------------------------------------- output layers
# The forward pass computes every layer as a sigmoid and keeps the output logits in ``zo``;
# for a softmax or linear output, ``output_activation`` then replaces the output's sigmoids
# (one more pass over the ``m * k`` outputs only), so the sigmoid network's code is unchanged.


def exp_inplace(buf):
    """``buf = exp(buf)`` for ``buf <= 0`` (the shifted logits of a softmax), clamped below so
    that it never underflows to 0 (at least ``exp(-708)`` in float64, ``exp(-87)`` in
    float32), by the sigmoid's vectorisable exp."""
    raise NotImplementedError("compiled only: call from numba code")


def _exp_inplace_f64(buf):
    _wide_vectors()
    for i in range(buf.shape[0]):
        buf[i] = _exp_f64(min(max(buf[i], -708.0), 709.0))


def _exp_inplace_f32(buf):
    _wide_vectors()
    for i in range(buf.shape[0]):
        buf[i] = _exp_f32(buf[i])


@overload(exp_inplace, jit_options={**JIT_OPTIONS, "fastmath": {"contract"}})
def _exp_inplace_overload(buf):
    if buf.dtype == types.float64:
        return _exp_inplace_f64
    if buf.dtype == types.float32:
        return _exp_inplace_f32
    return None


@jit
def output_activation(z, p, m, k, output):
    """The output activation of a block of ``m`` rows of ``k`` logits ``z`` (flattened).

    ``LINEAR_OUT``: ``p = z``. ``SOFTMAX_OUT``: ``p`` the softmax of each row and ``z`` its
    log-probabilities ``z - max(z) - log(sum(exp(z - max(z))))``, both from the logits shifted by
    the row's maximum, so that they are finite for any finite logits.
    """
    n = m * k
    if output == LINEAR_OUT:
        for i in range(n):
            p[i] = z[i]
        return
    for r in range(m):
        o = r * k
        mx = z[o]
        for j in range(1, k):
            mx = max(mx, z[o + j])
        for j in range(k):
            z[o + j] = z[o + j] - mx
            p[o + j] = z[o + j]
    exp_inplace(p[:n])
    for r in range(m):
        o = r * k
        s = p[o]
        for j in range(1, k):
            s += p[o + j]
        log_s = np.log(s)
        for j in range(k):
            p[o + j] = p[o + j] / s
            z[o + j] = z[o + j] - log_s


@jit
def softmax_delta(p, delta, m, k):
    """``delta_j = g_j - p_j sum_i g_i`` per row: ``dJ/d(logits)`` from ``g = dJ/d(log p)``
    (the softmax's Jacobian), in place."""
    for r in range(m):
        o = r * k
        s = delta[o]
        for j in range(1, k):
            s += delta[o + j]
        for j in range(k):
            delta[o + j] = delta[o + j] - p[o + j] * s


# ----------------------------------------------------------------------------- one dense layer
@jit
def dense_forward(inp, W, out, blas):
    """``out = inp @ W`` for one row block: ``(m, fi) @ (fi, fo)``; the bias is added later,
    fused into the sigmoid's pass."""
    _wide_vectors()
    m, fo = out.shape
    fi = W.shape[0]
    if blas:
        np.dot(inp, W, out)
    elif fo == 1:
        # One output: rows are independent, so loop over them innermost (no reduction chain).
        for i in range(m):
            out[i, 0] = 0
        for p in range(fi):
            w = W[p, 0]
            for i in range(m):
                out[i, 0] += inp[i, p] * w
    else:
        for i in range(m):
            for j in range(fo):
                out[i, j] = 0
            for p in range(fi):
                a = inp[i, p]
                for j in range(fo):
                    out[i, j] += a * W[p, j]


@jit
def dense_grad(prev, delta, gW, tmp, blas):
    """``gW += prev^T @ delta`` for one row block (the bias gradient comes with the delta:
    ``column_sums`` for the output layer, ``dense_backprop`` for the others)."""
    _wide_vectors()
    m, fo = delta.shape
    fi = prev.shape[1]
    if blas:
        np.dot(prev.T, delta, tmp)
        for p in range(fi):
            for j in range(fo):
                gW[p, j] += tmp[p, j]
    elif fo == 1:
        for i in range(m):
            d = delta[i, 0]
            for p in range(fi):
                gW[p, 0] += prev[i, p] * d
    else:
        for i in range(m):
            for p in range(fi):
                a = prev[i, p]
                for j in range(fo):
                    gW[p, j] += a * delta[i, j]


@jit
def column_sums(delta, gb):
    """``gb += column sums of delta``: the output layer's bias gradient."""
    _wide_vectors()
    m, fo = delta.shape
    if fo == 1:
        # One column: ``_sum``'s four running sums instead of one (1.1 -> 0.1 us for 512 rows).
        gb[0] += _sum(delta.reshape(m))
        return
    for i in range(m):
        for j in range(fo):
            gb[j] += delta[i, j]


@jit
def dense_backprop(delta, W, prev, out, gb_prev, blas):
    """``out = (delta @ W^T) * prev * (1 - prev)``: the delta of the layer below; and, in the
    same pass, ``gb_prev += column sums of out``: that layer's bias gradient.

    ``prev`` holds that layer's sigmoid outputs, so ``sigmoid'(z) = prev (1 - prev)``.
    """
    _wide_vectors()
    m, fi = out.shape
    one = out.dtype.type(1)
    if delta.shape[1] == 1:
        # One output: a scaled copy of W's column per row; fused with sigmoid' in one pass.
        for i in range(m):
            d = delta[i, 0]
            for p in range(fi):
                a = prev[i, p]
                v = d * W[p, 0] * (a * (one - a))
                out[i, p] = v
                gb_prev[p] += v
        return
    if blas:
        np.dot(delta, W.T, out)
    else:
        fo = delta.shape[1]
        for i in range(m):
            for p in range(fi):
                s = out.dtype.type(0)
                for j in range(fo):
                    s += delta[i, j] * W[p, j]
                out[i, p] = s
    for i in range(m):
        for p in range(fi):
            a = prev[i, p]
            v = out[i, p] * (a * (one - a))
            out[i, p] = v
            gb_prev[p] += v


# ----------------------------------------------------------------------------- the input layer
# Only layer 0 reads ``X``: its forward product and its weight gradient (nothing propagates
# into the inputs). These three functions are that contact, for both kinds of ``X``: the flat
# dense rows, or a CSR matrix ``(data, indices, indptr)`` (``Network`` validates it: indices in
# ``[0, d)``, ``indptr`` non-decreasing from 0, finite data). A sparse block is multiplied
# sparsely, never densified: ``nnz * fo`` multiply-adds instead of ``m * d * fo``, and no
# ``m x d`` scratch. Its sums run over each row's nonzeros in storage order, so the results
# are deterministic and, as for dense input, the same for any thread count; they equal the
# dense products of ``X.toarray()`` up to the order of the additions (duplicates are summed, as
# scipy's ``toarray`` sums them).


def block_of(X, s, e, d):
    """Rows ``s:e`` of ``X`` (``d`` features): the dense slice ``X[s*d:e*d]``, or the CSR
    triple with ``indptr[s:e+1]`` (its offsets still index the whole ``data``/``indices``)."""
    raise NotImplementedError("compiled only: call from numba code")


def input_forward(x, W, out, blas):
    """``out = x @ W`` for a row block ``x`` of ``block_of`` (``out``: ``(m, fo)``)."""
    raise NotImplementedError("compiled only: call from numba code")


def input_grad(x, delta, gW, tmp, blas):
    """``gW += x^T @ delta`` for a row block ``x`` of ``block_of``."""
    raise NotImplementedError("compiled only: call from numba code")


def _is_csr(X):
    return isinstance(X, types.BaseTuple) and len(X) == 3


@overload(block_of, jit_options=JIT_OPTIONS)
def _block_of_overload(X, s, e, d):
    if isinstance(X, types.Array):

        def dense(X, s, e, d):
            return X[s * d : e * d]

        return dense
    if _is_csr(X):

        def csr(X, s, e, d):
            return (X[0], X[1], X[2][s : e + 1])

        return csr
    return None


#: How many nonzeros ahead the sparse products prefetch the row of ``W`` (or of its gradient)
#: they will need. Those rows are gathered in the order of the columns of ``X``: for a wide
#: input layer (10,000 x 16 float64 weights, 1.3 MB) that misses the L2 cache, and the loops
#: wait on it. Measured on this project's 2-vCPU AMD EPYC (1 MB L2, 32 MB L3), 100,000 x
#: 10,000 rows at 1 %, a hidden layer of 16, ns per nonzero: forward 22 -> 8 with 16 ahead
#: (13 with 8, 13 with 32), gradient 22 -> 8.
PREFETCH_AHEAD = 16


def _prefetcher(write: bool):
    """An intrinsic ``prefetch(a, i, j)``: ask the CPU to load the cache line of ``a[i, j]``
    (2-D ``a``) soon (``llvm.prefetch``, for reading, or with ``write`` for updating: only for
    memory one thread owns, as a gradient sum is, else the line bounces between cores). No
    bounds check: a prefetch never faults, and it computes nothing."""

    @intrinsic
    def prefetch(typingctx, a, i, j):
        if not (isinstance(a, types.Array) and a.ndim == 2):
            return None

        def codegen(context, builder, signature, args):
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ij = [context.cast(builder, args[k], signature.args[k], types.intp) for k in (1, 2)]
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, ij, wraparound=False)
            i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
            # (address, write?, locality: 3 = keep in all cache levels, 1 = the data cache)
            flags = (int(write), 3, 1)
            builder.call(fn, [builder.bitcast(ptr, i8p), *(ir.Constant(i32, f) for f in flags)])
            return context.get_dummy_value()

        return types.none(a, i, j), codegen

    return prefetch


_prefetch_read = _prefetcher(False)
_prefetch_write = _prefetcher(True)


@numba.njit(inline="always", error_model="numpy")
def _prefetch_row(a, i, write):
    """Prefetch every cache line of row ``i`` of the C-ordered 2-D ``a`` (``write``: to update
    it)."""
    n = a.shape[1]
    for j in range(0, n, max(1, 64 // a.itemsize)):
        if write:
            _prefetch_write(a, i, j)
        else:
            _prefetch_read(a, i, j)
    if write:  # the row need not start on a line
        _prefetch_write(a, i, n - 1)
    else:
        _prefetch_read(a, i, n - 1)


def _csr_forward(x, W, out, blas):
    _wide_vectors()
    data, indices, ptr = x
    m, fo = out.shape
    last = ptr[m] - 1
    zero = out.dtype.type(0)
    for i in range(m):
        for j in range(fo):
            out[i, j] = zero
        for q in range(ptr[i], ptr[i + 1]):
            _prefetch_row(W, indices[min(q + PREFETCH_AHEAD, last)], False)
            v = data[q]
            c = indices[q]
            for j in range(fo):
                out[i, j] += v * W[c, j]


def _csr_grad(x, delta, gW, tmp, blas):
    _wide_vectors()
    data, indices, ptr = x
    m, fo = delta.shape
    last = ptr[m] - 1
    for i in range(m):
        for q in range(ptr[i], ptr[i + 1]):
            _prefetch_row(gW, indices[min(q + PREFETCH_AHEAD, last)], True)
            v = data[q]
            c = indices[q]
            for j in range(fo):
                gW[c, j] += v * delta[i, j]


@overload(input_forward, jit_options=JIT_OPTIONS)
def _input_forward_overload(x, W, out, blas):
    if isinstance(x, types.Array):

        def dense(x, W, out, blas):
            dense_forward(x.reshape((out.shape[0], W.shape[0])), W, out, blas)

        return dense
    if _is_csr(x):
        return _csr_forward
    return None


@overload(input_grad, jit_options=JIT_OPTIONS)
def _input_grad_overload(x, delta, gW, tmp, blas):
    if isinstance(x, types.Array):

        def dense(x, delta, gW, tmp, blas):
            dense_grad(x.reshape((delta.shape[0], gW.shape[0])), delta, gW, tmp, blas)

        return dense
    if _is_csr(x):
        return _csr_grad
    return None


# ----------------------------------------------------------------------------- a row block
@jit
def forward_block(params, x, sizes, offs, blas, aoff, m, act, zo):
    """Forward pass of the ``m`` rows ``x`` (a ``block_of`` ``X``): activations into ``act``,
    output logits in ``zo``."""
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        fi, fo = sizes[layer], sizes[layer + 1]
        w0 = offs[layer]
        W = params[w0 : w0 + fi * fo].reshape((fi, fo))
        flat = act[aoff[layer] : aoff[layer] + m * fo]
        out = flat.reshape((m, fo))
        if layer == 0:
            input_forward(x, W, out, blas[0])
        else:
            inp = act[aoff[layer - 1] : aoff[layer - 1] + m * fi].reshape((m, fi))
            dense_forward(inp, W, out, blas[layer])
        b = params[w0 + fi * fo : w0 + fi * fo + fo]
        sigmoid_inplace(flat, b, zo, layer == n_layers - 1)  # keeps the output logits


@jit
def block_loss(z, p, y, w, delta, k, loss_fn, loss_w, native_w):
    """The loss of a block's outputs (``k`` per row) and its ``dJ/dz`` in ``delta``, the rows
    weighted by ``w`` (empty: unweighted): by the loss's weighted form ``loss_w`` when it has
    one (``native_w``: the built-in losses), else by its block function on each row alone."""
    if w.shape[0] == 0:
        return loss_fn(z, p, y, delta)
    if native_w:
        return loss_w(z, p, y, w, delta)
    total = z.dtype.type(0)
    for i in range(w.shape[0]):
        o = i * k
        t = loss_fn(z[o : o + k], p[o : o + k], y[o : o + k], delta[o : o + k])
        wi = w[i]
        total += wi * t
        for j in range(o, o + k):
            delta[j] *= wi
    return total


@jit
def backward_block(params, x, y, w, sizes, offs, blas, aoff, m, act, zo, d1, d2, gtmp, g, loss_fn,
                   loss_w, native_w, output):  # fmt: skip
    """Loss and backprop of one forward-passed row block; adds ``dJ/dparams`` (unscaled) to ``g``.

    ``output`` (``SIGMOID_OUT``, ``SOFTMAX_OUT``, ``LINEAR_OUT``) is the output layer's
    activation: the forward pass leaves sigmoids and logits, which ``output_activation``
    replaces for the other two (see there for what the loss then receives).
    ``w``: the block's row weights (empty: every row weighs 1); see ``block_loss``.
    Returns the block's (weighted) summed loss.
    """
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    if output != SIGMOID_OUT:
        output_activation(zo[: m * k], act[top : top + m * k], m, k, output)
    total = block_loss(zo[: m * k], act[top : top + m * k], y, w, d1[: m * k], k, loss_fn, loss_w,
                       native_w)  # fmt: skip
    if output == SOFTMAX_OUT:
        softmax_delta(act[top : top + m * k], d1[: m * k], m, k)
    b_top = offs[n_layers - 1] + sizes[n_layers - 1] * k
    column_sums(d1[: m * k].reshape((m, k)), g[b_top : b_top + k])
    delta, spare = d1, d2
    for layer in range(n_layers - 1, -1, -1):
        fi, fo = sizes[layer], sizes[layer + 1]
        w0 = offs[layer]
        b0 = w0 + fi * fo
        d = delta[: m * fo].reshape((m, fo))
        gW = g[w0:b0].reshape((fi, fo))
        tmp = gtmp[: fi * fo].reshape((fi, fo))
        if layer == 0:  # no delta for the inputs
            input_grad(x, d, gW, tmp, blas[0])
        else:
            prev = act[aoff[layer - 1] : aoff[layer - 1] + m * fi].reshape((m, fi))
            dense_grad(prev, d, gW, tmp, blas[layer])
            W = params[w0:b0].reshape((fi, fo))
            gb_prev = g[w0 - fi : w0]  # layer - 1's bias sits just before this layer's W
            dense_backprop(d, W, prev, spare[: m * fi].reshape((m, fi)), gb_prev, blas[layer])
            delta, spare = spare, delta
    return total


@jit
def chunk_loss_grad(params, X, Y, Wr, sizes, offs, blas, aoff, rows, r0, r1, act, zo, d1, d2,
                    gtmp, g, loss_fn, loss_w, native_w, output):  # fmt: skip
    """Summed loss and gradient of rows ``r0:r1`` (one chunk), block by block, into ``g``;
    ``Wr``: the row weights (empty: unweighted)."""
    d = sizes[0]
    k = sizes[sizes.shape[0] - 1]
    g[:] = 0
    total = g.dtype.type(0)
    for s in range(r0, r1, rows):
        e = min(s + rows, r1)
        m = e - s
        x = block_of(X, s, e, d)
        forward_block(params, x, sizes, offs, blas, aoff, m, act, zo)
        w = Wr[s:e] if Wr.shape[0] else Wr
        total += backward_block(params, x, Y[s * k : e * k], w, sizes, offs, blas, aoff, m, act,
                                zo, d1, d2, gtmp, g, loss_fn, loss_w, native_w,
                                output)  # fmt: skip
    return total


# ----------------------------------------------------------------------------- entry points
@jit
def reduce_chunks(closs, gbuf, g):
    """Sum of the chunks' losses (returned) and gradients (into ``g``), always in chunk order,
    so the result is the same for any thread count."""
    _wide_vectors()
    total = closs[0]
    for j in range(g.shape[0]):
        g[j] = gbuf[0, j]
    for c in range(1, closs.shape[0]):
        total += closs[c]
        for j in range(g.shape[0]):
            g[j] += gbuf[c, j]
    return total


@parallel_jit
def evaluate(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2, gtmp,
             gbuf, closs, loss_fn, loss_w, native_w, output, g, scale, l2):  # fmt: skip
    """The loss at ``params`` (returned) and its gradient (into ``g``), both times ``scale``
    (``1/n``, or ``1/sum(Wr)`` with row weights ``Wr``: the mean), over every row; chunks on
    threads, summed in chunk order. Then the L2 penalty ``l2/2 * sum(W^2)`` over the weights
    (not the biases) and its gradient ``l2 * W`` are added (``l2 = alpha * scale``:
    scikit-learn's ``alpha``)."""
    for c in prange(bounds.shape[0] - 1):
        t = get_thread_id()  # scratch belongs to the thread, the gradient sum to the chunk
        closs[c] = chunk_loss_grad(
            params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds[c], bounds[c + 1],
            act[t], zo[t], d1[t], d2[t], gtmp[t], gbuf[c], loss_fn, loss_w, native_w, output,
        )  # fmt: skip
    return finish_evaluate(params, sizes, offs, gbuf, closs, g, scale, l2)


@jit
def evaluate_serial(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2,
                    gtmp, gbuf, closs, loss_fn, loss_w, native_w, output, g, scale,
                    l2):  # fmt: skip
    """``evaluate`` on the calling thread (the same chunks, so the same numbers)."""
    for c in range(bounds.shape[0] - 1):
        closs[c] = chunk_loss_grad(
            params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds[c], bounds[c + 1],
            act[0], zo[0], d1[0], d2[0], gtmp[0], gbuf[c], loss_fn, loss_w, native_w, output,
        )  # fmt: skip
    return finish_evaluate(params, sizes, offs, gbuf, closs, g, scale, l2)


@jit
def evaluate_on(parallel, params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1,
                d2, gtmp, gbuf, closs, loss_fn, loss_w, native_w, output, g, scale,
                l2):  # fmt: skip
    """``evaluate``, or ``evaluate_serial`` when ``parallel`` is ``None``.

    numba prunes the branch for ``parallel``'s type when it compiles: a kernel given ``None``
    (``Engine``'s small problems, which run on one thread anyway) neither calls nor compiles
    the parallel ``evaluate`` (about 11 s of a cold start), nor needs numba's thread count
    set around its calls; one given ``True`` is a second compiled variant, made on first use.
    """
    if parallel is None:
        return evaluate_serial(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo,
                               d1, d2, gtmp, gbuf, closs, loss_fn, loss_w, native_w, output, g,
                               scale, l2)  # fmt: skip
    return evaluate(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2,
                    gtmp, gbuf, closs, loss_fn, loss_w, native_w, output, g, scale,
                    l2)  # fmt: skip


@jit
def finish_evaluate(params, sizes, offs, gbuf, closs, g, scale, l2):
    """The chunks' sums in chunk order, times ``scale``, plus the L2 penalty: ``evaluate``'s
    loss (returned) and gradient (``g``)."""
    loss = reduce_chunks(closs, gbuf, g) * scale
    for j in range(g.shape[0]):
        g[j] *= scale
    if l2 != 0:
        loss += add_penalty(params, sizes, offs, g, l2)
    return loss


@jit
def add_penalty(params, sizes, offs, g, l2):
    """``g += l2 * W`` for every weight (not the biases); returns ``l2/2 * sum(W^2)``, the sum
    in float64 in parameter order."""
    lam = g.dtype.type(l2)
    sq = 0.0
    for layer in range(sizes.shape[0] - 1):
        w0 = offs[layer]
        for j in range(w0, w0 + sizes[layer] * sizes[layer + 1]):
            v = params[j]
            sq += np.float64(v) * np.float64(v)
            g[j] += lam * v
    return g.dtype.type(0.5 * l2 * sq)


# ----------------------------------------------------------------------------- held-out data
#: Validation metrics (``metric`` argument of ``train``/``train_lbfgs``).
NO_VALIDATION = 0
ACCURACY = 1  # scikit-learn's classifier score: a row is right when every output is
R2 = 2  # scikit-learn's regressor score: R^2 of each output, averaged


@jit
def chunk_validate(params, X, Y, Wr, sizes, offs, blas, aoff, rows, r0, r1, act, zo, d1, loss_fn,
                   loss_w, native_w, output, metric, acc):  # fmt: skip
    """Forward pass, loss and metric sums of rows ``r0:r1`` (no gradient): returns the
    (weighted) summed loss; ``acc`` (float64) receives the (weighted) number of rows predicted
    right (``ACCURACY``: every sigmoid output on the right side of 0.5, or the arg-max of a
    softmax that of the targets) or each output's (weighted) squared error (``R2``); the
    loss is in the parameters' dtype, as the training loss is."""
    d = sizes[0]
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    for j in range(acc.shape[0]):
        acc[j] = 0.0
    total = d1.dtype.type(0)
    for s in range(r0, r1, rows):
        e = min(s + rows, r1)
        m = e - s
        forward_block(params, block_of(X, s, e, d), sizes, offs, blas, aoff, m, act, zo)
        if output != SIGMOID_OUT:
            output_activation(zo[: m * k], act[top : top + m * k], m, k, output)
        p = act[top : top + m * k]
        y = Y[s * k : e * k]
        w = Wr[s:e] if Wr.shape[0] else Wr
        total += block_loss(zo[: m * k], p, y, w, d1[: m * k], k, loss_fn, loss_w, native_w)
        for i in range(m):
            wi = 1.0 if Wr.shape[0] == 0 else np.float64(Wr[s + i])
            o = i * k
            if metric == R2:
                for j in range(k):
                    r = np.float64(p[o + j]) - np.float64(y[o + j])
                    acc[j] += wi * r * r
            elif output == SOFTMAX_OUT:  # the first largest probability, as np.argmax
                best, want = 0, 0
                for j in range(1, k):
                    if p[o + j] > p[o + best]:
                        best = j
                    if y[o + j] > y[o + want]:
                        want = j
                if best == want:
                    acc[0] += wi
            else:  # scikit-learn's rule: class 1 where p > 0.5
                right = True
                for j in range(k):
                    if (p[o + j] > 0.5) != (y[o + j] > 0.5):
                        right = False
                if right:
                    acc[0] += wi
    return total


@parallel_jit
def validate(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, loss_fn,
             loss_w, native_w, output, metric, vacc, vstate):  # fmt: skip
    """The mean validation loss (returned, float64) and score (``vstate[3]``) at ``params``:
    ``chunk_validate`` per chunk on threads (``vacc[c] = [loss, metric sums...]``), summed in
    chunk order into ``vacc``'s last row. ``vstate = [best score, count, sum of weights,
    score, ss_tot...]`` (``ss_tot``: each output's weighted total sum of squares, for
    ``R2``)."""
    for c in prange(bounds.shape[0] - 1):
        t = get_thread_id()
        vacc[c, 0] = chunk_validate(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds[c],
                                    bounds[c + 1], act[t], zo[t], d1[t], loss_fn, loss_w,
                                    native_w, output, metric, vacc[c, 1:])  # fmt: skip
    return finish_validate(bounds, metric, vacc, vstate)


@jit
def validate_on(parallel, params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1,
                loss_fn, loss_w, native_w, output, metric, vacc, vstate):  # fmt: skip
    """``validate``, or on the calling thread when ``parallel`` is ``None`` (see
    ``evaluate_on``)."""
    if parallel is None:
        for c in range(bounds.shape[0] - 1):
            vacc[c, 0] = chunk_validate(params, X, Y, Wr, sizes, offs, blas, aoff, rows,
                                        bounds[c], bounds[c + 1], act[0], zo[0], d1[0],
                                        loss_fn, loss_w, native_w, output, metric,
                                        vacc[c, 1:])  # fmt: skip
        return finish_validate(bounds, metric, vacc, vstate)
    return validate(
        params,
        X,
        Y,
        Wr,
        sizes,
        offs,
        blas,
        aoff,
        rows,
        bounds,
        act,
        zo,
        d1,
        loss_fn,
        loss_w,
        native_w,
        output,
        metric,
        vacc,
        vstate,
    )


@jit
def finish_validate(bounds, metric, vacc, vstate):
    """The chunks' held-out sums in chunk order (into ``vacc``'s last row): ``validate``'s
    mean loss (returned) and score (``vstate[3]``)."""
    width = vacc.shape[1]
    n_chunks = bounds.shape[0] - 1
    sums = vacc[n_chunks]  # the row after the chunks' rows
    for j in range(width):
        sums[j] = 0.0
    for c in range(n_chunks):
        for j in range(width):
            sums[j] += vacc[c, j]
    total_w = vstate[2]
    if metric == R2:  # scikit-learn's r2_score: 1 (exact) or 0 (not) for a constant output
        k = width - 1
        score = 0.0
        for j in range(k):
            ss_tot = vstate[4 + j]
            if ss_tot > 0:
                score += 1.0 - sums[1 + j] / ss_tot
            elif sums[1 + j] == 0:
                score += 1.0
        vstate[3] = score / k
    else:
        vstate[3] = sums[1] / total_w
    return sums[0] / total_w


@jit
def end_epoch(params, loss, tol, n_iter_no_change, state, Xv, Yv, Wv, sizes, offs, blas, aoff,
              rows, boundsv, act, zo, d1, loss_fn, loss_w, native_w, output, metric, early,
              vacc, vstate, vrec, pbest, e, parallel):  # fmt: skip
    """The end of epoch ``e`` (after its update): the validation loss and score of the new
    ``params`` into ``vrec[e]`` (held-out rows ``Xv``, scored by ``metric``), and whether to
    stop. The stopping rule is ``stop_rule`` on the training ``loss``, or with ``early``
    stopping scikit-learn's rule on the validation score: an epoch fails when its score is
    below ``best + tol``, the best score and its parameters (``pbest``) are kept, and training
    stops when more than ``n_iter_no_change`` epochs in a row have failed (``tol < 0``: never).

    ``Xv=None``: no held-out rows. numba prunes the branch for that type when it compiles, so
    a kernel without them neither calls nor compiles the parallel ``validate`` (about 20 s of a
    cold start); one with them is a second compiled variant, made on first use.
    """
    if Xv is None:
        return stop_rule(loss, tol, n_iter_no_change, state)
    vrec[e, 0] = validate_on(parallel, params, Xv, Yv, Wv, sizes, offs, blas, aoff, rows,
                             boundsv, act, zo, d1, loss_fn, loss_w, native_w, output, metric,
                             vacc, vstate)  # fmt: skip
    score = vstate[3]
    vrec[e, 1] = score
    if not early:
        return stop_rule(loss, tol, n_iter_no_change, state)
    if tol >= 0:
        if score < vstate[0] + tol:
            vstate[1] += 1
        else:
            vstate[1] = 0
    if score > vstate[0]:
        vstate[0] = score
        for j in range(params.shape[0]):
            pbest[j] = params[j]
    return tol >= 0 and vstate[1] > n_iter_no_change


@jit
def first_order_step(opt, hp, params, g, vec, scal, commit):
    """One update of the optimizer ``opt`` (``optim.*_CODE``) with hyper-parameters ``hp``
    (float64, in the order of the optimizer's fields) and state ``vec``/``scal`` (layout in
    ``optim.py``), from the gradient ``g``.

    With ``commit=False`` nothing is written: returns whether every updated parameter would be
    finite. With ``commit=True`` the update is applied to ``params`` and the state. Both passes
    compute the same values, so an update that would make a weight non-finite is never applied.
    Arithmetic is in the parameters' dtype, with the hyper-parameters rounded to it.
    """
    dt = g.dtype.type
    n = g.shape[0]
    finite = True
    if opt == GD_CODE:  # p -= lr g
        lr = dt(hp[0])
        if commit:
            for j in range(n):
                params[j] -= lr * g[j]
        else:
            for j in range(n):
                if not np.isfinite(params[j] - lr * g[j]):
                    finite = False
    elif opt == MOMENTUM_CODE or opt == NESTEROV_CODE:
        # scikit-learn's SGDOptimizer: v = mu v - lr g; p += v, or p += mu v - lr g (Nesterov)
        lr, mu = dt(hp[0]), dt(hp[1])
        for j in range(n):
            v = mu * vec[j] - lr * g[j]
            u = mu * v - lr * g[j] if opt == NESTEROV_CODE else v
            if commit:
                vec[j] = v
                params[j] += u
            elif not np.isfinite(params[j] + u):
                finite = False
    elif opt == ADAM_CODE:
        # scikit-learn's AdamOptimizer: the bias correction folded into the step size
        b1, b2, eps = dt(hp[1]), dt(hp[2]), dt(hp[3])
        one = dt(1)
        t = scal[0] + 1
        lr_t = dt(hp[0] * np.sqrt(1 - hp[2] ** t) / (1 - hp[1] ** t))
        for j in range(n):
            m = b1 * vec[j] + (one - b1) * g[j]
            v = b2 * vec[n + j] + (one - b2) * (g[j] * g[j])
            u = -lr_t * m / (np.sqrt(v) + eps)
            if commit:
                vec[j] = m
                vec[n + j] = v
                params[j] += u
            elif not np.isfinite(params[j] + u):
                finite = False
    else:  # RPROP_CODE, iRprop-: vec = [step sizes, previous gradient]
        eta_minus, eta_plus = dt(hp[1]), dt(hp[2])
        step_min, step_max = dt(hp[3]), dt(hp[4])
        zero = dt(0)
        for j in range(n):
            gj = g[j]
            s = gj * vec[n + j]
            step = vec[j]
            if s > 0:
                step = min(step * eta_plus, step_max)
            elif s < 0:
                step = max(step * eta_minus, step_min)
                gj = zero  # the sign flipped: no move now, and no sign to compare next time
            u = -step if gj > 0 else (step if gj < 0 else zero)
            if commit:
                vec[j] = step
                vec[n + j] = gj
                params[j] += u
            elif not (np.isfinite(g[j]) and np.isfinite(params[j] + u)):
                finite = False
    if commit:
        scal[0] += 1
    return finite


@jit
def stop_rule(loss, tol, n_iter_no_change, state):
    """scikit-learn's rule (``BaseMultilayerPerceptron._update_no_improvement_count`` and the
    test after it): count epochs whose loss is above ``best - tol`` (reset to 0 otherwise), then
    lower ``best`` to the loss; True once the count *exceeds* ``n_iter_no_change``, i.e. after
    ``n_iter_no_change + 1`` such epochs in a row. ``state = [best, count]``; ``tol < 0``: off.
    ``backends.numpy.stopping_rule`` is the same rule for the runners written in Python."""
    if tol < 0:
        return False
    if loss > state[0] - tol:
        state[1] += 1
    else:
        state[1] = 0
    if loss < state[0]:
        state[0] = loss
    return state[1] > n_iter_no_change


@jit
def train(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2, gtmp, gbuf,
          closs, loss_fn, loss_w, native_w, output, g, scale, l2, parallel, opt, hp, vec, scal,
          epochs, tol, n_iter_no_change, state, hist, Xv, Yv, Wv, boundsv, metric, early, vacc,
          vstate, vrec, pbest):  # fmt: skip
    """Run up to ``epochs`` full-batch epochs of a first-order optimizer in place on ``params``.

    ``opt``, ``hp``, ``vec``, ``scal``: the optimizer (see ``first_order_step``).
    ``hist[e]`` receives epoch ``e``'s loss (from its forward pass, before its update).
    ``state = [best_loss, epochs_without_improvement]`` carries the stopping rule across calls;
    ``tol < 0`` disables it. Returns ``(epochs_run, status)``. An epoch whose loss is not finite,
    or whose update would make a parameter non-finite, is not applied: training stops with
    ``DIVERGED`` and ``params`` keep their last finite values.

    ``Xv`` ... ``pbest``: the held-out rows and their metric (``end_epoch``); ``metric =
    NO_VALIDATION`` (and empty arrays) without them.

    ``epochs == 0`` only evaluates: ``hist[0]`` gets the loss and ``g`` the gradient (both times
    ``scale``), and ``params`` are left alone. One kernel serves both uses, so there is one
    compilation per dtype, not two.
    """
    for e in range(max(epochs, 1)):
        loss = evaluate_on(parallel, params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act,
                           zo, d1, d2, gtmp, gbuf, closs, loss_fn, loss_w, native_w, output, g,
                           scale, l2)  # fmt: skip
        if epochs == 0:
            hist[0] = loss
            return 0, RAN_ALL
        if not np.isfinite(loss):
            return e, DIVERGED
        hist[e] = loss
        if not first_order_step(opt, hp, params, g, vec, scal, False):
            return e + 1, DIVERGED
        first_order_step(opt, hp, params, g, vec, scal, True)
        if end_epoch(params, loss, tol, n_iter_no_change, state, Xv, Yv, Wv, sizes, offs, blas,
                     aoff, rows, boundsv, act, zo, d1, loss_fn, loss_w, native_w, output, metric,
                     early, vacc, vstate, vrec, pbest, e, parallel):  # fmt: skip
            return e + 1, CONVERGED
    return epochs, RAN_ALL


# ----------------------------------------------------------------------------- L-BFGS
@jit
def _dot(a, b):
    """``a . b`` accumulated in float64, in index order."""
    s = 0.0
    for j in range(a.shape[0]):
        s += np.float64(a[j]) * np.float64(b[j])
    return s


@jit
def _copy(src, dst):
    for j in range(src.shape[0]):
        dst[j] = src[j]


@jit
def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """Moré and Thuente's safeguarded step (MINPACK-2 ``dcstep``): the next trial step from
    the interval ``[stx, sty]`` (``stx``: the lowest value so far) and the trial ``stp``, by
    cubic and quadratic interpolation. Returns ``(stx, fx, dx, sty, fy, dy, stp, brackt)``."""
    sgnd = 0.0
    if dp != 0 and dx != 0:
        sgnd = np.sign(dp) * np.sign(dx)
    if fp > fx:  # a higher value: the minimiser is bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + p / q * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) <= abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:  # slopes of opposite signs: bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + p / q * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):  # a lower value, the same sign, a smaller slope
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt(max(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = min(max(stpf, stpmin), stpmax)
    elif brackt:  # a lower value, the same sign, no smaller slope: the cubic towards sty
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        s = max(abs(theta), abs(dy), abs(dp))
        gamma = s * np.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
        if stp > sty:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        stpf = stp + p / q * (sty - stp)
    elif stp > stx:
        stpf = stpmax
    else:
        stpf = stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


@jit
def _trial(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2, gtmp, gbuf,
           closs, loss_fn, loss_w, native_w, output, scale, l2, parallel, d, t, xt,
           gt):  # fmt: skip
    """Loss (float64; +inf when it or the gradient is not finite) and ``d . gradient`` at
    ``xt = params + t d``, the gradient in ``gt``."""
    tt = xt.dtype.type(t)
    for j in range(xt.shape[0]):
        xt[j] = params[j] + tt * d[j]
    f = np.float64(evaluate_on(parallel, xt, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds,
                               act, zo, d1, d2, gtmp, gbuf, closs, loss_fn, loss_w, native_w,
                               output, gt, scale, l2))  # fmt: skip
    gtd = _dot(gt, d)
    if not (np.isfinite(f) and np.isfinite(gtd)):
        return np.inf, 0.0
    return f, gtd


@jit
def train_lbfgs(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2, gtmp,
                gbuf, closs, loss_fn, loss_w, native_w, output, g, scale, l2, parallel, hp, vec,
                scal, xt, gt, d, alpha, epochs, tol, n_iter_no_change, state, hist, Xv, Yv, Wv,
                boundsv, metric, early, vacc, vstate, vrec, pbest):  # fmt: skip
    """Run up to ``epochs`` L-BFGS iterations in place on ``params`` (``optim.LBFGS``).

    L-BFGS-B's iteration without bounds (SciPy's ``minimize(method="L-BFGS-B")``): the
    direction by the two-loop recursion, the first step of unit length and later ones starting
    at 1, Moré and Thuente's line search (MINPACK-2 ``dcsrch``: strong Wolfe conditions with
    ``optim.WOLFE_C1``/``WOLFE_C2``, at most ``max_line_search`` evaluations; a search that
    runs out of them is discarded) and its test for keeping a curvature pair. A trial point
    whose loss or gradient is not finite halves the step towards the best point so far.

    ``vec``/``scal`` hold the optimizer's state (layout in ``optim.py``); ``xt``, ``gt``
    (trial point and its gradient), ``d`` (direction) and ``alpha`` (``history`` float64) are
    scratch. Same contract as ``train``: ``hist[e]`` is the loss at the start of iteration
    ``e``; returns ``(iterations_run, status)``, ``CONVERGED`` also when no step along the
    steepest descent direction lowers the loss.
    """
    n = params.shape[0]
    m = alpha.shape[0]
    max_ls = int(hp[1])
    ftol, gtol, xtol = WOLFE_C1, WOLFE_C2, WOLFE_XTOL
    xtrapl, xtrapu, stpmax = 1.1, 4.0, 1e10
    eps = 2.220446049250313e-16 if params.itemsize == 8 else 1.1920928955078125e-07
    gcur = vec[:n]
    for e in range(epochs):
        if scal[LB_HAVE] == 0:
            scal[LB_F] = evaluate_on(parallel, params, X, Y, Wr, sizes, offs, blas, aoff, rows,
                                     bounds, act, zo, d1, d2, gtmp, gbuf, closs, loss_fn, loss_w,
                                     native_w, output, gcur, scale, l2)  # fmt: skip
            scal[LB_EVALS] += 1
            scal[LB_HAVE] = 1
        f = scal[LB_F]
        if not (np.isfinite(f) and np.isfinite(_dot(gcur, gcur))):
            scal[LB_HAVE] = 0
            return e, DIVERGED
        hist[e] = f
        count = int(scal[LB_COUNT])
        head = int(scal[LB_HEAD])
        # Direction: d = -H g by the two-loop recursion (newest pair first, then back).
        for j in range(n):
            d[j] = gcur[j]
        if count > 0:
            for k in range(count):
                i = (head - k) % m
                s_i = vec[(1 + i) * n : (2 + i) * n]
                y_i = vec[(1 + m + i) * n : (2 + m + i) * n]
                a = scal[LB_RHO + i] * _dot(s_i, d)
                alpha[i] = a
                a_ = d.dtype.type(a)
                for j in range(n):
                    d[j] -= a_ * y_i[j]
            s_h = vec[(1 + head) * n : (2 + head) * n]
            y_h = vec[(1 + m + head) * n : (2 + m + head) * n]
            gamma = d.dtype.type(_dot(s_h, y_h) / _dot(y_h, y_h))
            for j in range(n):
                d[j] *= gamma
            for k in range(count - 1, -1, -1):
                i = (head - k) % m
                s_i = vec[(1 + i) * n : (2 + i) * n]
                y_i = vec[(1 + m + i) * n : (2 + m + i) * n]
                b = d.dtype.type(alpha[i] - scal[LB_RHO + i] * _dot(y_i, d))
                for j in range(n):
                    d[j] += b * s_i[j]
        for j in range(n):
            d[j] = -d[j]
        gtd = _dot(gcur, d)
        if count == 0 or not gtd < 0:  # steepest descent (also if H lost positivity)
            count = 0
            scal[LB_COUNT] = 0
            for j in range(n):
                d[j] = -gcur[j]
            gtd = _dot(gcur, d)
        if not gtd < 0:  # a zero gradient: a stationary point
            return e + 1, CONVERGED
        # L-BFGS-B's first step is one of unit length; every later one starts at t = 1.
        stp = 1.0 / np.sqrt(_dot(d, d)) if scal[LB_T] == 0 else 1.0

        # Moré-Thuente line search (dcsrch): the state of its interval [stx, sty].
        brackt = False
        stage = 1
        gtest = ftol * gtd
        width = stpmax
        width1 = width / 0.5
        stx, fx, gx = 0.0, f, gtd
        sty, fy, gy = 0.0, f, gtd
        stmin, stmax = 0.0, stp + xtrapu * stp
        evals = 0
        ended = False
        while True:
            f_new, g_new = _trial(params, X, Y, Wr, sizes, offs, blas, aoff, rows, bounds, act,
                                  zo, d1, d2, gtmp, gbuf, closs, loss_fn, loss_w, native_w,
                                  output, scale, l2, parallel, d, stp, xt, gt)  # fmt: skip
            evals += 1
            if not np.isfinite(f_new):  # too far: halve the step towards the best point
                brackt = True
                sty, fy, gy = stp, np.inf, 0.0
                stp = stx + 0.5 * (stp - stx)
                stmin, stmax = min(stx, sty), max(stx, sty)
                width1, width = width, abs(sty - stx)
                if evals >= max_ls:
                    break
                continue
            ftest = f + stp * gtest
            if stage == 1 and f_new <= ftest and g_new >= 0:
                stage = 2
            if f_new <= ftest and abs(g_new) <= gtol * -gtd:
                ended = True  # converged: strong Wolfe holds
                break
            if (
                (brackt and (stp <= stmin or stp >= stmax))
                or (brackt and stmax - stmin <= xtol * stmax)
                or (stp == stpmax and f_new <= ftest and g_new <= gtest)
                or (stp == 0.0 and (f_new > ftest or g_new >= gtest))
            ):
                ended = True  # rounding errors or the bracket's width end the search
                break
            if evals >= max_ls:
                break
            if stage == 1 and fx >= f_new > ftest:  # on the modified psi(t) = f(t) - ftest
                stx, fxm, gxm, sty, fym, gym, stp, brackt = dcstep(
                    stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest, stp,
                    f_new - stp * gtest, g_new - gtest, brackt, stmin, stmax,
                )  # fmt: skip
                fx, fy = fxm + stx * gtest, fym + sty * gtest
                gx, gy = gxm + gtest, gym + gtest
            else:
                stx, fx, gx, sty, fy, gy, stp, brackt = dcstep(
                    stx, fx, gx, sty, fy, gy, stp, f_new, g_new, brackt, stmin, stmax
                )
            if brackt:
                if abs(sty - stx) >= 0.66 * width1:
                    stp = stx + 0.5 * (sty - stx)
                width1, width = width, abs(sty - stx)
                stmin, stmax = min(stx, sty), max(stx, sty)
            else:
                stmin, stmax = stp + xtrapl * (stp - stx), stp + xtrapu * (stp - stx)
            stp = min(max(stp, 0.0), stpmax)
            if (brackt and (stp <= stmin or stp >= stmax)) or (
                brackt and stmax - stmin <= xtol * stmax
            ):
                stp = stx
        scal[LB_EVALS] += evals
        t_best, f_best, g_best = stp, f_new, gt

        if not (ended and f_best < f):  # the search failed, or found no lower loss
            if count == 0:  # a minimum: ``params`` stay, and are validated once more
                end_epoch(params, f, tol, n_iter_no_change, state, Xv, Yv, Wv, sizes, offs, blas,
                          aoff, rows, boundsv, act, zo, d1, loss_fn, loss_w, native_w, output,
                          metric, early, vacc, vstate, vrec, pbest, e, parallel)  # fmt: skip
                return e + 1, CONVERGED
            scal[LB_COUNT] = 0  # forget the curvature pairs; steepest descent next
        else:
            # x_new = x + t d, as the line search computed it; the pair s = x_new - x,
            # y = g_new - g is kept when s.y > 1e-10 (else H would lose positivity)
            tt = params.dtype.type(t_best)
            ys = 0.0
            for j in range(n):
                s = (params[j] + tt * d[j]) - params[j]
                ys += np.float64(s) * np.float64(g_best[j] - gcur[j])
            keep = ys > eps * -gtd * t_best  # L-BFGS-B's test: keeps H positive definite
            i = (head + 1) % m
            s_i = vec[(1 + i) * n : (2 + i) * n]
            y_i = vec[(1 + m + i) * n : (2 + m + i) * n]
            for j in range(n):
                x_new = params[j] + tt * d[j]
                if keep:
                    s_i[j] = x_new - params[j]
                    y_i[j] = g_best[j] - gcur[j]
                params[j] = x_new
            _copy(g_best, gcur)
            scal[LB_F] = f_best
            scal[LB_T] += 1
            if keep:
                scal[LB_RHO + i] = 1.0 / ys
                scal[LB_HEAD] = i
                scal[LB_COUNT] = min(count + 1, m)
        if end_epoch(params, f, tol, n_iter_no_change, state, Xv, Yv, Wv, sizes, offs, blas,
                     aoff, rows, boundsv, act, zo, d1, loss_fn, loss_w, native_w, output, metric,
                     early, vacc, vstate, vrec, pbest, e, parallel):  # fmt: skip
            return e + 1, CONVERGED
    return epochs, RAN_ALL


@jit
def predict_chunk(params, X, sizes, offs, blas, aoff, rows, r0, r1, act, zo, logits, out):
    """Output-layer activations (``logits``: the logits, before the output activation) of rows
    ``r0:r1`` of ``X`` into ``out``, block by block."""
    d = sizes[0]
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    for s in range(r0, r1, rows):
        e = min(s + rows, r1)
        m = e - s
        forward_block(params, block_of(X, s, e, d), sizes, offs, blas, aoff, m, act, zo)
        if logits:
            for i in range(m * k):  # a loop, not a slice copy: see the module docstring
                out[s * k + i] = zo[i]
        else:
            for i in range(m * k):
                out[s * k + i] = act[top + i]


@parallel_jit
def predict(params, X, sizes, offs, blas, aoff, rows, bounds, act, zo, logits, out):
    """Output-layer activations (or ``logits``) of every row of ``X`` into ``out`` (flattened
    ``(n, k)``), chunks on threads. The softmax and linear outputs, and log-probabilities, are
    computed from the logits (``Network``)."""
    for c in prange(bounds.shape[0] - 1):
        t = get_thread_id()
        predict_chunk(params, X, sizes, offs, blas, aoff, rows, bounds[c], bounds[c + 1], act[t],
                      zo[t], logits, out)  # fmt: skip


@jit
def predict_serial(params, X, sizes, offs, blas, aoff, rows, bounds, act, zo, logits, out):
    """``predict`` on the calling thread: for small calls, which then need neither numba's
    thread pool nor the parallel compilation."""
    predict_chunk(params, X, sizes, offs, blas, aoff, rows, 0, bounds[bounds.shape[0] - 1],
                  act[0], zo[0], logits, out)  # fmt: skip
