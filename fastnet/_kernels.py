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
* ``X``, ``Y`` -- the flattened, C-ordered ``(n, d)`` inputs and ``(n, k)`` targets.
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
from numba.extending import intrinsic, overload

from ._jit import JIT_OPTIONS, jit, parallel_jit

#: Status codes returned by ``train``.
RAN_ALL = 0
CONVERGED = 1
DIVERGED = 2


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
        k = builder.fptosi(args[0], ity)
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


def _sigmoid_f64(buf, b, z, keep_z):
    _wide_vectors()
    _add_bias(buf, b, z, keep_z)
    n = buf.shape[0]
    for i in range(n):
        buf[i] = _exp_f64(min(max(-buf[i], -708.0), 709.0))
    for i in range(n):
        # 1 / d by a float32 division refined by two Newton steps (24 -> 48 -> full bits,
        # within 1 ulp): vdivpd is the slowest instruction here. When d overflows float32
        # (z < -88.7) the result is 0, as 1 / (1 + exp(-z)) is in libm when exp overflows.
        d = 1.0 + buf[i]
        y = np.float64(np.float32(1.0) / np.float32(d))
        y = y + y * (1.0 - d * y)
        buf[i] = y + y * (1.0 - d * y)


def _sigmoid_f32(buf, b, z, keep_z):
    _wide_vectors()
    _add_bias(buf, b, z, keep_z)
    f = np.float32
    lo, hi, one, half = f(-87.0), f(88.0), f(1.0), f(0.5)
    log2e, ln2_hi, ln2_lo = f(1.44269504), f(0.693359375), f(-2.12194440e-4)
    n = buf.shape[0]
    for i in range(n):
        x = min(max(-buf[i], lo), hi)
        t = np.floor(x * log2e + half)
        r = (x - t * ln2_hi) - t * ln2_lo
        p = f(1.0 / 5040.0)
        p = p * r + f(1.0 / 720.0)
        p = p * r + f(1.0 / 120.0)
        p = p * r + f(1.0 / 24.0)
        p = p * r + f(1.0 / 6.0)
        p = p * r + half
        p = p * r + one
        buf[i] = (p * r + one) * _pow2(t)  # e^r 2^t
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


@jit
def mse(z, p, y, delta):
    """Squared error ``(p - y)^2``; ``dJ/dz = 2 (p - y) p (1 - p)`` (the sigmoid derivative).

    The per-output losses go through ``delta`` first, so that every loop vectorises."""
    _wide_vectors()
    one = p.dtype.type(1)
    two = p.dtype.type(2)
    n = p.shape[0]
    for i in range(n):
        r = p[i] - y[i]
        delta[i] = r * r
    total = _sum(delta[:n])
    for i in range(n):
        delta[i] = two * (p[i] - y[i]) * p[i] * (one - p[i])
    return total


# fdlibm's log: minimax coefficients of (log(1 + f) - f + f^2 / 2) in s = f / (2 + f), and ln 2
# split so that k ln2_hi is exact.
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)  # fmt: skip
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


@numba.njit(**{**JIT_OPTIONS, "fastmath": {"contract"}})
def log_loss(z, p, y, delta):
    """Binary cross-entropy from the logits; ``dJ/dz = p - y``.

    ``-[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log1p(exp(-|z|))`` is finite for
    every finite ``z``. With the sigmoid output, ``dJ/dp = (p - y) / (p (1 - p))`` and the
    sigmoid's derivative ``p (1 - p)`` cancel, leaving ``p - y``.

    ``log1p(exp(-|z|))`` is computed in float64 (for both dtypes) by code LLVM can vectorise,
    within 2 ulps of the correctly rounded value (tests/test_numerics.py; libm's scalar calls
    cost 11.4 ns per output, this 2.7): ``u = exp(-|z|)`` as in the kernels' sigmoid
    (``_pow2`` supplies 2^t; ``|z|`` is clamped at 708, so ``u`` stays normal), then
    ``log1p(u) = log(w) + (u - (w - 1)) / w`` with ``w = 1 + u`` and fdlibm's ``log``. The
    per-output losses go through ``delta`` and are summed by ``_sum``.
    """
    _wide_vectors()
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LG
    n = p.shape[0]
    for i in range(n):
        zi = np.float64(z[i])
        u = _exp_f64(max(-abs(zi), -708.0))  # exp(-|z|), in (2^-1022, 1]
        w = 1.0 + u
        big = w > 1.4142135623730951  # log(w) = k ln2 + log(1 + f), 1 + f in [sqrt(2)/2, sqrt(2)]
        k = 1.0 if big else 0.0
        f = (w * 0.5 if big else w) - 1.0
        s = f / (2.0 + f)
        s2 = s * s
        s4 = s2 * s2
        R = s4 * (lg2 + s4 * (lg4 + s4 * lg6)) + s2 * (lg1 + s4 * (lg3 + s4 * (lg5 + s4 * lg7)))
        hfsq = 0.5 * f * f
        log_w = k * _LN2_HI - ((hfsq - (s * (hfsq + R) + k * _LN2_LO)) - f)
        # (u - (w - 1)) is the rounding error of w = 1 + u, exactly; it is divided by w by
        # multiplying with 2 - w, which differs from 1 / w by at most (w - 1)^2 / w: at most
        # half an ulp of the result (near z = 0), far less elsewhere
        delta[i] = max(zi, 0.0) - y[i] * zi + (log_w + (u - (w - 1.0)) * (2.0 - w))
    total = _sum(delta[:n])
    for i in range(n):
        delta[i] = p[i] - y[i]
    return total


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


# ----------------------------------------------------------------------------- a row block
@jit
def forward_block(params, x, sizes, offs, blas, aoff, m, act, zo):
    """Forward pass of the ``m`` rows ``x``: activations into ``act``, output logits in ``zo``."""
    n_layers = sizes.shape[0] - 1
    inp = x.reshape((m, sizes[0]))
    for layer in range(n_layers):
        fi, fo = sizes[layer], sizes[layer + 1]
        w0 = offs[layer]
        W = params[w0 : w0 + fi * fo].reshape((fi, fo))
        flat = act[aoff[layer] : aoff[layer] + m * fo]
        out = flat.reshape((m, fo))
        dense_forward(inp, W, out, blas[layer])
        b = params[w0 + fi * fo : w0 + fi * fo + fo]
        sigmoid_inplace(flat, b, zo, layer == n_layers - 1)  # keeps the output logits
        inp = out


@jit
def backward_block(params, x, y, sizes, offs, blas, aoff, m, act, zo, d1, d2, gtmp, g, loss_fn):
    """Loss and backprop of one forward-passed row block; adds ``dJ/dparams`` (unscaled) to ``g``.

    Returns the block's summed loss.
    """
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    total = loss_fn(zo[: m * k], act[top : top + m * k], y, d1[: m * k])
    b_top = offs[n_layers - 1] + sizes[n_layers - 1] * k
    column_sums(d1[: m * k].reshape((m, k)), g[b_top : b_top + k])
    delta, spare = d1, d2
    for layer in range(n_layers - 1, -1, -1):
        fi, fo = sizes[layer], sizes[layer + 1]
        w0 = offs[layer]
        b0 = w0 + fi * fo
        if layer == 0:
            prev = x.reshape((m, fi))
        else:
            prev = act[aoff[layer - 1] : aoff[layer - 1] + m * fi].reshape((m, fi))
        d = delta[: m * fo].reshape((m, fo))
        gW = g[w0:b0].reshape((fi, fo))
        dense_grad(prev, d, gW, gtmp[: fi * fo].reshape((fi, fo)), blas[layer])
        if layer > 0:
            W = params[w0:b0].reshape((fi, fo))
            gb_prev = g[w0 - fi : w0]  # layer - 1's bias sits just before this layer's W
            dense_backprop(d, W, prev, spare[: m * fi].reshape((m, fi)), gb_prev, blas[layer])
            delta, spare = spare, delta
    return total


@jit
def chunk_loss_grad(params, X, Y, sizes, offs, blas, aoff, rows, r0, r1, act, zo, d1, d2, gtmp,
                    g, loss_fn):  # fmt: skip
    """Summed loss and gradient of rows ``r0:r1`` (one chunk), block by block, into ``g``."""
    d = sizes[0]
    k = sizes[sizes.shape[0] - 1]
    g[:] = 0
    total = g.dtype.type(0)
    for s in range(r0, r1, rows):
        e = min(s + rows, r1)
        m = e - s
        x = X[s * d : e * d]
        forward_block(params, x, sizes, offs, blas, aoff, m, act, zo)
        total += backward_block(params, x, Y[s * k : e * k], sizes, offs, blas, aoff, m, act,
                                zo, d1, d2, gtmp, g, loss_fn)  # fmt: skip
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
def train(params, X, Y, sizes, offs, blas, aoff, rows, bounds, act, zo, d1, d2, gtmp, gbuf, closs,
          loss_fn, g, scale, lr, epochs, tol, n_iter_no_change, state, hist):  # fmt: skip
    """Run up to ``epochs`` full-batch gradient-descent epochs in place on ``params``.

    ``hist[e]`` receives epoch ``e``'s loss (from its forward pass, before its update).
    ``state = [best_loss, epochs_without_improvement]`` carries the stopping rule across calls;
    ``tol < 0`` disables it. Returns ``(epochs_run, status)``. An epoch whose loss is not finite,
    or whose update would make a parameter non-finite, is not applied: training stops with
    ``DIVERGED`` and ``params`` keep their last finite values.

    ``epochs == 0`` only evaluates: ``hist[0]`` gets the loss and ``g`` the gradient (both times
    ``scale``), and ``params`` are left alone. One kernel serves both uses, so there is one
    compilation per dtype, not two.
    """
    for e in range(max(epochs, 1)):
        for c in prange(bounds.shape[0] - 1):
            t = get_thread_id()  # scratch belongs to the thread, the gradient sum to the chunk
            closs[c] = chunk_loss_grad(
                params, X, Y, sizes, offs, blas, aoff, rows, bounds[c], bounds[c + 1],
                act[t], zo[t], d1[t], d2[t], gtmp[t], gbuf[c], loss_fn,
            )  # fmt: skip
        loss = reduce_chunks(closs, gbuf, g) * scale
        if epochs == 0:
            hist[0] = loss
            for j in range(g.shape[0]):
                g[j] *= scale
            return 0, RAN_ALL
        if not np.isfinite(loss):
            return e, DIVERGED
        hist[e] = loss
        finite = True
        for j in range(g.shape[0]):
            g[j] *= scale
            if not np.isfinite(params[j] - lr * g[j]):
                finite = False
        if not finite:
            return e + 1, DIVERGED
        for j in range(g.shape[0]):
            params[j] -= lr * g[j]
        if tol >= 0:
            # scikit-learn's rule: count epochs that fail to beat the best loss by more than tol.
            if loss > state[0] - tol:
                state[1] += 1
            else:
                state[1] = 0
            if loss < state[0]:
                state[0] = loss
            if state[1] >= n_iter_no_change:
                return e + 1, CONVERGED
    return epochs, RAN_ALL


@parallel_jit
def predict(params, X, sizes, offs, blas, aoff, rows, bounds, act, zo, out):
    """Output-layer activations of every row of ``X`` into ``out`` (flattened ``(n, k)``)."""
    d = sizes[0]
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        t = get_thread_id()
        for s in range(bounds[c], bounds[c + 1], rows):
            e = min(s + rows, bounds[c + 1])
            m = e - s
            forward_block(params, X[s * d : e * d], sizes, offs, blas, aoff, m, act[t], zo[t])
            for i in range(m * k):  # a loop, not a slice copy: see the module docstring
                out[s * k + i] = act[t, top + i]
