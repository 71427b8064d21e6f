"""Fused Numba kernels: forward pass, loss, sigmoid-derivative backprop and update.

Private: ``network.py`` validates, converts and allocates; these functions only compute.
No Python objects in here, and nothing is allocated per epoch.

Layout shared with ``network.py`` (see ``_Layout`` there):

* ``params`` -- one flat vector; layer ``l`` stores ``W_l`` (``fan_in x fan_out``, row-major)
  at ``params[offs[l]:]`` followed by ``b_l`` (``fan_out``). Gradients use the same layout.
* ``sizes`` -- the layer widths ``(d, h1, ..., k)``.
* ``X``, ``Y`` -- the flattened, C-ordered ``(n, d)`` inputs and ``(n, k)`` targets.
* Rows are processed in blocks of ``rows``; ``bounds`` splits the rows into chunks (aligned to
  ``rows``) that depend on ``n`` only. Each chunk owns a slice of every workspace, accumulates
  its own gradient, and the chunks are summed in a fixed order, so the result is bit-identical
  for any number of threads.
* Workspaces per chunk ``c``: ``act[c]`` holds every layer's activations for one row block
  (layer ``l + 1`` at ``act[c, aoff[l]:]``), ``zo[c]`` the output pre-activations, ``d1[c]`` and
  ``d2[c]`` the deltas (ping-pong), ``gbuf[c]`` the chunk's gradient sum.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, parallel_jit

#: Status codes returned by ``train``.
RAN_ALL = 0
CONVERGED = 1
DIVERGED = 2


@jit
def sigmoid_inplace(buf):
    """``buf[i] = 1 / (1 + exp(-buf[i]))``; saturates to exactly 0 or 1, never NaN."""
    one = buf.dtype.type(1)
    for i in range(buf.shape[0]):
        buf[i] = one / (one + np.exp(-buf[i]))


@jit
def forward_block(params, x, sizes, offs, aoff, m, act, zo):
    """Forward pass of ``m`` rows ``x``; activations into ``act``, output logits into ``zo``."""
    n_layers = sizes.shape[0] - 1
    inp = x
    for layer in range(n_layers):
        fi = sizes[layer]
        fo = sizes[layer + 1]
        w0 = offs[layer]
        b0 = w0 + fi * fo
        out = act[aoff[layer] : aoff[layer] + m * fo]
        for i in range(m):
            r = i * fo
            for j in range(fo):
                out[r + j] = params[b0 + j]
            for p in range(fi):
                a = inp[i * fi + p]
                wr = w0 + p * fo
                for j in range(fo):
                    out[r + j] += a * params[wr + j]
        if layer == n_layers - 1:
            zo[: m * fo] = out
        sigmoid_inplace(out)
        inp = out


@jit
def backward_block(params, x, y, sizes, offs, aoff, m, act, zo, d1, d2, g, loss_fn):
    """Loss and backprop of one forward-passed row block; adds ``dJ/dparams`` (unscaled) to ``g``.

    Returns the block's summed loss.
    """
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    delta = d1[: m * k]
    total = loss_fn(zo[: m * k], act[top : top + m * k], y, delta)
    spare = d2
    for layer in range(n_layers - 1, -1, -1):
        fi = sizes[layer]
        fo = sizes[layer + 1]
        w0 = offs[layer]
        b0 = w0 + fi * fo
        if layer == 0:
            prev = x
        else:
            prev = act[aoff[layer - 1] : aoff[layer - 1] + m * fi]
        # dW += prev^T delta, db += column sums of delta
        for i in range(m):
            dr = i * fo
            for p in range(fi):
                a = prev[i * fi + p]
                gr = w0 + p * fo
                for j in range(fo):
                    g[gr + j] += a * delta[dr + j]
            for j in range(fo):
                g[b0 + j] += delta[dr + j]
        if layer > 0:
            # delta_prev = (delta W^T) * sigmoid'(z_prev), with sigmoid' = a (1 - a)
            one = prev.dtype.type(1)
            nxt = spare[: m * fi]
            for i in range(m):
                dr = i * fo
                for p in range(fi):
                    wr = w0 + p * fo
                    s = prev.dtype.type(0)
                    for j in range(fo):
                        s += delta[dr + j] * params[wr + j]
                    a = prev[i * fi + p]
                    nxt[i * fi + p] = s * a * (one - a)
            spare = delta
            delta = nxt
    return total


@jit
def chunk_loss_grad(params, X, Y, sizes, offs, aoff, rows, r0, r1, act, zo, d1, d2, g, loss_fn):
    """Summed loss and gradient of rows ``r0:r1`` (one chunk), block by block, into ``g``."""
    d = sizes[0]
    k = sizes[sizes.shape[0] - 1]
    g[:] = 0
    total = g.dtype.type(0)
    for s in range(r0, r1, rows):
        e = min(s + rows, r1)
        m = e - s
        x = X[s * d : e * d]
        forward_block(params, x, sizes, offs, aoff, m, act, zo)
        total += backward_block(
            params, x, Y[s * k : e * k], sizes, offs, aoff, m, act, zo, d1, d2, g, loss_fn
        )
    return total


@parallel_jit
def loss_grad(params, X, Y, sizes, offs, aoff, rows, bounds, act, zo, d1, d2, gbuf, closs,
              loss_fn, g):  # fmt: skip
    """Summed loss over all rows (returned) and summed gradient (into ``g``), unscaled."""
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        closs[c] = chunk_loss_grad(
            params, X, Y, sizes, offs, aoff, rows, bounds[c], bounds[c + 1],
            act[c], zo[c], d1[c], d2[c], gbuf[c], loss_fn,
        )  # fmt: skip
    # Fixed-order reduction: the same sums in the same order for any thread count.
    total = closs[0]
    g[:] = gbuf[0]
    for c in range(1, n_chunks):
        total += closs[c]
        for j in range(g.shape[0]):
            g[j] += gbuf[c, j]
    return total


@jit
def train(params, X, Y, sizes, offs, aoff, rows, bounds, act, zo, d1, d2, gbuf, closs,
          loss_fn, g, scale, lr, epochs, tol, n_iter_no_change, state, hist):  # fmt: skip
    """Run up to ``epochs`` full-batch gradient-descent epochs in place on ``params``.

    ``hist[e]`` receives epoch ``e``'s loss (from its forward pass, before its update).
    ``state = [best_loss, epochs_without_improvement]`` carries the stopping rule across calls;
    ``tol < 0`` disables it. Returns ``(epochs_run, status)``. An epoch whose loss is not finite,
    or whose update would make a parameter non-finite, is not applied: training stops with
    ``DIVERGED`` and ``params`` keep their last finite values.
    """
    for e in range(epochs):
        total = loss_grad(params, X, Y, sizes, offs, aoff, rows, bounds, act, zo, d1, d2,
                          gbuf, closs, loss_fn, g)  # fmt: skip
        loss = total * scale
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
def predict(params, X, sizes, offs, aoff, rows, bounds, act, zo, out):
    """Output-layer activations of every row of ``X`` into ``out`` (flattened ``(n, k)``)."""
    d = sizes[0]
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    top = aoff[n_layers - 1]
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        for s in range(bounds[c], bounds[c + 1], rows):
            e = min(s + rows, bounds[c + 1])
            m = e - s
            forward_block(params, X[s * d : e * d], sizes, offs, aoff, m, act[c], zo[c])
            out[s * k : e * k] = act[c, top : top + m * k]
