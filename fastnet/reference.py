"""The plain-NumPy baseline: the same maths as the kernels, written as a textbook would.

It shares no maths code with ``_kernels``/``losses``: it is both the benchmarks' baseline and an
independent correctness witness. Everything is vectorised over the whole batch:

    forward   Z_l = A_{l-1} W_l + b_l,  A_l = sigmoid(Z_l),  A_0 = X,  P = A_L
              (the output layer: sigmoid, softmax(Z_L) or Z_L itself)
    mse       J = mean_i sum_j (P - Y)^2,                         Delta_L = (2/n)(P - Y) P (1 - P)
              (linear output: Delta_L = (2/n)(P - Y))
    log       J = -mean_i sum_j [Y log P + (1 - Y) log(1 - P)],   Delta_L = (1/n)(P - Y)
    cross_entropy (softmax)  J = -mean_i sum_j Y log P,           Delta_L = (1/n)(P - Y)
    backward  dW_l = A_{l-1}^T Delta_l,  db_l = sum_rows Delta_l,
              Delta_{l-1} = (Delta_l W_l^T) * A_{l-1} (1 - A_{l-1})
    update    W_l -= lr dW_l,  b_l -= lr db_l
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .optim import (
    LB_COUNT,
    LB_EVALS,
    LB_F,
    LB_HAVE,
    LB_HEAD,
    LB_RHO,
    LB_T,
    WOLFE_C1,
    WOLFE_C2,
    WOLFE_XTOL,
)

Weights = list[tuple[np.ndarray, np.ndarray]]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, evaluated so that ``exp`` never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, from the logits shifted by each row's maximum (never overflows)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(z) = z - max - log(sum(exp(z - max)))``: finite for finite ``z``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def forward(
    weights: Weights, X: np.ndarray, output: str = "sigmoid"
) -> tuple[list[np.ndarray], np.ndarray]:
    """Activations ``[A_0 = X, A_1, ..., A_L]`` and the output logits ``Z_L``; hidden layers
    are sigmoids, the output layer ``output`` (``"sigmoid"``, ``"softmax"``, ``"linear"``)."""
    activations = [X]
    z = X
    for layer, (W, b) in enumerate(weights):
        z = activations[-1] @ W + b
        if layer < len(weights) - 1 or output == "sigmoid":
            activations.append(sigmoid(z))
        elif output == "softmax":
            activations.append(softmax(z))
        elif output == "linear":
            activations.append(z)
        else:
            raise ValueError(f"unknown output layer {output!r}")
    return activations, z


# --------------------------------------------------------------------------- losses
# The built-in losses' NumPy block functions ``loss(z, p, y, delta) -> total`` (``losses.py``
# registers them next to the kernels'): the summed loss of the 1-D views, and the derivative
# per element (before the mean's 1/n) written into ``delta``.


def mse_sigmoid(z, p, y, delta):
    """``sum (p - y)^2``; ``dJ/dz = 2 (p - y) p (1 - p)``."""
    delta[...] = 2 * (p - y) * p * (1 - p)
    return np.sum((p - y) ** 2)


def log_sigmoid(z, p, y, delta):
    """Binary cross-entropy from the logits; ``dJ/dz = p - y``."""
    delta[...] = p - y  # sigmoid's derivative cancels against dJ/dP
    # -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log1p(exp(-|z|)). For a
    # well-classified row (y = 1, z > 0 or y = 0, z < 0) the first two terms cancel exactly and
    # the last is accurate however small; logaddexp(0, z) - y z would round that row's small
    # loss to the ulp of z (measured: 1.5e-7 relative error in a total loss of 2e-9).
    return np.sum(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))


def mse_linear(z, p, y, delta):
    """``sum (p - y)^2`` of an identity output; ``dJ/dp = 2 (p - y)``."""
    delta[...] = 2 * (p - y)
    return np.sum((p - y) ** 2)


def huber_linear(z, p, y, delta):
    """Huber loss (delta 1) of an identity output; ``dJ/dp = clip(p - y, -1, 1)``."""
    r = p - y
    delta[...] = np.clip(r, -1, 1)
    return np.sum(np.where(np.abs(r) <= 1, 0.5 * r * r, np.abs(r) - 0.5))


def cross_entropy_softmax(z, p, y, delta):
    """``-sum y log p`` of a softmax output, ``z = log p``; ``dJ/d(log p) = -y``."""
    delta[...] = -y
    return -np.sum(y * z)


def loss_and_gradients(
    weights: Weights,
    X: np.ndarray,
    Y: np.ndarray,
    loss: Callable,
    output: str = "sigmoid",
    *,
    sample_weight: np.ndarray | None = None,
    alpha: float = 0.0,
) -> tuple[np.floating, Weights]:
    """Mean loss at ``weights`` and its gradient ``[(dW_1, db_1), ...]`` by backpropagation.

    ``loss(z, p, y, delta) -> total`` is a block function (above, or a registered loss's
    ``reference``) applied to the whole batch's outputs; for a softmax output it receives the
    log-probabilities as ``z`` and ``dJ/d(log P)`` becomes ``dJ/dZ_L`` by the softmax's
    Jacobian, ``G - P * rowsum(G)`` (``(P - Y)`` for cross-entropy).

    With ``sample_weight`` ``w`` the loss is ``sum_i w_i J_i / sum_i w_i`` (each row's loss by
    ``loss`` on that row alone); ``alpha`` adds scikit-learn's L2 penalty
    ``alpha / (2 sum_i w_i) * sum of the squared weights`` (biases excluded; ``n`` for
    ``sum_i w_i`` without weights).
    """
    activations, z = forward(weights, X, output)
    P = activations[-1]
    n = Y.shape[0]
    if output == "softmax":
        z = log_softmax(z)
    G = np.empty_like(P)
    J = summed_loss(loss, z, P, Y, G, sample_weight)
    if sample_weight is None:
        total = n
    else:
        w = np.asarray(sample_weight, P.dtype)
        total = w.sum(dtype=np.float64)
        G = G * w[:, None]
    J = J / total
    if output == "softmax":
        G = G - P * G.sum(axis=1, keepdims=True)
    delta = G / P.dtype.type(total)
    grads: Weights = []
    for layer in range(len(weights) - 1, -1, -1):
        A_prev = activations[layer]
        grads.append((A_prev.T @ delta, delta.sum(axis=0)))
        if layer > 0:
            W = weights[layer][0]
            delta = (delta @ W.T) * A_prev * (1 - A_prev)
    grads.reverse()
    if alpha:
        value, dWs = l2_penalty(weights, alpha / total)
        J = J + value
        grads = [(dW + pW, db) for (dW, db), pW in zip(grads, dWs, strict=True)]
    return J, grads


def summed_loss(loss: Callable, z, P, Y, G, sample_weight=None):
    """The (``sample_weight``-weighted) sum of the rows' losses, by the block function ``loss``
    on all ``(n, k)`` outputs at once, or with weights on each row alone; ``dJ/dz`` (unweighted)
    into ``G``."""
    if sample_weight is None:
        return loss(z.ravel(), P.ravel(), Y.ravel(), G.reshape(-1))
    rows = [loss(z[i], P[i], Y[i], G[i]) for i in range(Y.shape[0])]
    return np.dot(np.asarray(rows, np.float64), np.asarray(sample_weight, np.float64))


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """scikit-learn's ``r2_score`` averaged over the outputs, from each output's residual and
    total sums of squares: 1 (exact) or 0 (not) for an output whose targets are constant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def l2_penalty(weights: Weights, lam: float) -> tuple[float, list[np.ndarray]]:
    """``lam / 2 * sum(W^2)`` over the weight matrices (biases excluded) and its gradients
    ``lam * W``, one per layer: scikit-learn's penalty with ``lam = alpha / n``."""
    value = 0.5 * lam * sum(float(np.sum(np.square(W, dtype=np.float64))) for W, _ in weights)
    return value, [W.dtype.type(lam) * W for W, _ in weights]


# --------------------------------------------------------------------------- optimizers
# The same updates as the kernels' (``fastnet.optim`` documents them and the state layout),
# written again with whole-array NumPy operations. Each step takes the flat parameters ``p``,
# the gradient ``g`` and the state, and returns new arrays: the caller keeps the old ones when
# the new parameters are not finite. Arithmetic is in ``p``'s dtype.


def gd_step(p, g, lr):
    """``p - lr g``."""
    return p - p.dtype.type(lr) * g


def momentum_step(p, g, v, lr, momentum, nesterov):
    """``v' = momentum v - lr g``; ``p + v'``, or ``p + momentum v' - lr g`` (Nesterov)."""
    dt = p.dtype.type
    lr, mu = dt(lr), dt(momentum)
    v_new = mu * v - lr * g
    update = mu * v_new - lr * g if nesterov else v_new
    return p + update, v_new


def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    """Step ``t`` (counting from 1) of Adam with scikit-learn's folded bias correction."""
    dt = p.dtype.type
    b1, b2 = dt(beta1), dt(beta2)
    m_new = b1 * m + (dt(1) - b1) * g
    v_new = b2 * v + (dt(1) - b2) * (g * g)
    lr_t = dt(lr * np.sqrt(1 - beta2**t) / (1 - beta1**t))
    return p + (-lr_t * m_new) / (np.sqrt(v_new) + dt(eps)), m_new, v_new


def rprop_step(p, g, step, prev, eta_minus, eta_plus, step_min, step_max):
    """iRprop-: new ``(p, step, prev)``."""
    dt = p.dtype.type
    agree = g * prev
    grown = np.minimum(step * dt(eta_plus), dt(step_max))
    shrunk = np.maximum(step * dt(eta_minus), dt(step_min))
    step_new = np.where(agree > 0, grown, np.where(agree < 0, shrunk, step))
    g_used = np.where(agree < 0, dt(0), g)  # a flipped sign: no move, nothing to compare next
    return p - np.sign(g_used) * step_new, step_new, g_used


def _dot64(a, b):
    return float(np.dot(a.astype(np.float64), b.astype(np.float64)))


def _safeguarded_step(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """Moré and Thuente's ``dcstep`` (MINPACK-2): a new trial step from the interval
    ``[stx, sty]`` (``stx``: the lowest value so far) and the trial ``stp``, by cubic and
    quadratic interpolation with safeguards. Returns the updated
    ``(stx, fx, dx, sty, fy, dy, stp, brackt)``."""
    sgnd = math.copysign(1.0, dp) * math.copysign(1.0, dx) if dp and dx else 0.0
    if fp > fx:  # higher value: the minimum is bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + p / q * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) <= abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:  # derivatives of opposite sign: bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + p / q * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):  # lower value, same sign, smaller slope
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        else:
            stpc = stpmax if stp > stx else stpmin
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
    elif brackt:  # lower value, same sign, no smaller slope: cubic towards sty
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        s = max(abs(theta), abs(dy), abs(dp))
        gamma = s * math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
        if stp > sty:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        stpf = stp + p / q * (sty - stp)
    else:
        stpf = stpmax if stp > stx else stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def more_thuente_search(phi, f0, g0, stp, max_evals, ftol, gtol, xtol, stpmax=1e10):
    """A step satisfying the strong Wolfe conditions ``f(t) <= f0 + ftol t g0`` and
    ``|f'(t)| <= gtol |g0|``: Moré and Thuente's line search (MINPACK-2 ``dcsrch``, the one in
    L-BFGS-B), started at ``stp``, with at most ``max_evals`` evaluations.

    ``phi(t) -> (f, slope, payload)``; a trial point whose value is not finite halves the
    step towards the best point so far. Returns ``(ended, t, f, payload, evals)``: ``ended``
    is False when the evaluations ran out first (L-BFGS-B then discards the search), else
    ``t`` is where the search converged or had to stop (rounding errors, the bracket's
    ``xtol``), with its value and ``payload``.
    """
    xtrapl, xtrapu = 1.1, 4.0
    stpmin = 0.0
    brackt, stage = False, 1
    gtest = ftol * g0
    width = stpmax - stpmin
    width1 = width / 0.5
    stx, fx, gx = 0.0, f0, g0
    sty, fy, gy = 0.0, f0, g0
    stmin, stmax = 0.0, stp + xtrapu * stp
    evals = 0
    while True:
        f, g, payload = phi(stp)
        evals += 1
        if not math.isfinite(f):  # too far: halve the step towards the best point
            brackt = True
            sty, fy, gy = stp, math.inf, 0.0
            stp = stx + 0.5 * (stp - stx)
            stmin, stmax = min(stx, sty), max(stx, sty)
            width1, width = width, abs(sty - stx)
            if evals >= max_evals:
                return False, stp, f, payload, evals
            continue
        ftest = f0 + stp * gtest
        if stage == 1 and f <= ftest and g >= 0:
            stage = 2
        if f <= ftest and abs(g) <= gtol * -g0:
            return True, stp, f, payload, evals  # converged: strong Wolfe holds
        if (
            (brackt and (stp <= stmin or stp >= stmax))  # rounding errors prevent progress
            or (brackt and stmax - stmin <= xtol * stmax)
            or (stp == stpmax and f <= ftest and g <= gtest)
            or (stp == stpmin and (f > ftest or g >= gtest))
        ):
            return True, stp, f, payload, evals
        if evals >= max_evals:
            return False, stp, f, payload, evals
        if stage == 1 and fx >= f > ftest:  # the modified function psi(t) = f(t) - ftest
            stx, fxm, gxm, sty, fym, gym, stp, brackt = _safeguarded_step(
                stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest,
                stp, f - stp * gtest, g - gtest, brackt, stmin, stmax,
            )  # fmt: skip
            fx, fy = fxm + stx * gtest, fym + sty * gtest
            gx, gy = gxm + gtest, gym + gtest
        else:
            stx, fx, gx, sty, fy, gy, stp, brackt = _safeguarded_step(
                stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax
            )
        if brackt:
            if abs(sty - stx) >= 0.66 * width1:
                stp = stx + 0.5 * (sty - stx)
            width1, width = width, abs(sty - stx)
            stmin, stmax = min(stx, sty), max(stx, sty)
        else:
            stmin, stmax = stp + xtrapl * (stp - stx), stp + xtrapu * (stp - stx)
        stp = min(max(stp, stpmin), stpmax)
        if (brackt and (stp <= stmin or stp >= stmax)) or (
            brackt and stmax - stmin <= xtol * stmax
        ):
            stp = stx


def lbfgs_iteration(loss_grad, p, vec, scal, history, max_line_search):
    """One L-BFGS iteration in place on ``p`` and the state ``vec``/``scal`` (``optim.LBFGS``):
    L-BFGS-B's iteration without bounds (Byrd, Lu, Nocedal and Zhu 1995; SciPy's
    ``minimize(method="L-BFGS-B")``), the direction by the two-loop recursion.

    ``loss_grad(p) -> (J, g)``. Returns ``(f, outcome)``: the loss at the start of the
    iteration and ``"moved"``, ``"reset"`` (the line search found no lower loss along the
    quasi-Newton direction: the curvature pairs are dropped, the next iteration descends
    steepest) or ``"stuck"`` (not even along the steepest descent direction: a minimum to the
    dtype's precision). Raises ``FloatingPointError`` when the loss or gradient at ``p`` is
    not finite.
    """
    n, m, dt = p.shape[0], history, p.dtype.type
    g = vec[:n]
    S = vec[n : (1 + m) * n].reshape(m, n)
    Y = vec[(1 + m) * n :].reshape(m, n)
    if scal[LB_HAVE] == 0:
        J, g_new = loss_grad(p)
        scal[LB_F], scal[LB_EVALS], scal[LB_HAVE] = float(J), scal[LB_EVALS] + 1, 1
        g[...] = g_new
    f = scal[LB_F]
    if not (math.isfinite(f) and math.isfinite(_dot64(g, g))):
        scal[LB_HAVE] = 0
        raise FloatingPointError("the loss or its gradient is not finite")
    count, head = int(scal[LB_COUNT]), int(scal[LB_HEAD])
    newest_first = [(head - k) % m for k in range(count)]
    q = g.copy()  # two-loop recursion: q = H g
    alphas = {}
    for i in newest_first:
        alphas[i] = scal[LB_RHO + i] * _dot64(S[i], q)
        q -= dt(alphas[i]) * Y[i]
    if count:
        q *= dt(_dot64(S[head], Y[head]) / _dot64(Y[head], Y[head]))
    for i in reversed(newest_first):
        q += dt(alphas[i] - scal[LB_RHO + i] * _dot64(Y[i], q)) * S[i]
    d = -q
    slope = _dot64(g, d)
    if count == 0 or not slope < 0:  # steepest descent
        count = 0
        scal[LB_COUNT] = 0
        d = -g
        slope = _dot64(g, d)
    if not slope < 0:
        return f, "stuck"
    # L-BFGS-B's first step is one of unit length; every later one starts at t = 1.
    t0 = 1.0 / math.sqrt(_dot64(d, d)) if scal[LB_T] == 0 else 1.0

    def phi(t):
        x = p + dt(t) * d
        J, g_t = loss_grad(x)
        J = float(J)
        s = _dot64(g_t, d)
        if not (math.isfinite(J) and math.isfinite(s)):
            return math.inf, 0.0, (x, g_t)
        return J, s, (x, g_t)

    ended, t, f_new, payload, evals = more_thuente_search(
        phi, f, slope, t0, max_line_search, WOLFE_C1, WOLFE_C2, WOLFE_XTOL
    )
    scal[LB_EVALS] += evals
    if not (ended and f_new < f):
        scal[LB_COUNT] = 0
        return f, "reset" if count else "stuck"
    x_new, g_new = payload
    s, y = x_new - p, g_new - g
    ys = _dot64(s, y)
    if ys > np.finfo(p.dtype).eps * -slope * t:  # L-BFGS-B's test: keeps H positive definite
        i = (head + 1) % m
        S[i], Y[i] = s, y
        scal[LB_RHO + i], scal[LB_HEAD], scal[LB_COUNT] = 1.0 / ys, i, min(count + 1, m)
    p[...] = x_new
    g[...] = g_new
    scal[LB_F] = f_new
    scal[LB_T] += 1
    return f, "moved"
