"""The plain-NumPy baseline: the same maths as the kernels, written as a textbook would.

It shares no maths code with ``_kernels``/``losses``: it is both the benchmarks' baseline and an
independent correctness witness. Everything is vectorised over the whole batch:

    forward   Z_l = A_{l-1} W_l + b_l,  A_l = sigmoid(Z_l),  A_0 = X,  P = A_L
    mse       J = mean_i sum_j (P - Y)^2,                         Delta_L = (2/n)(P - Y) P (1 - P)
    log       J = -mean_i sum_j [Y log P + (1 - Y) log(1 - P)],   Delta_L = (1/n)(P - Y)
    backward  dW_l = A_{l-1}^T Delta_l,  db_l = sum_rows Delta_l,
              Delta_{l-1} = (Delta_l W_l^T) * A_{l-1} (1 - A_{l-1})
    update    W_l -= lr dW_l,  b_l -= lr db_l
"""

from __future__ import annotations

import math

import numpy as np

Weights = list[tuple[np.ndarray, np.ndarray]]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, evaluated so that ``exp`` never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def forward(weights: Weights, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Activations ``[A_0 = X, A_1, ..., A_L]`` and the output logits ``Z_L``."""
    activations = [X]
    z = X
    for W, b in weights:
        z = activations[-1] @ W + b
        activations.append(sigmoid(z))
    return activations, z


def loss_value(loss: str, z: np.ndarray, P: np.ndarray, Y: np.ndarray) -> np.floating:
    """Mean over rows, sum over outputs. The log loss is taken from the logits ``z``."""
    n = Y.shape[0]
    if loss == "mse":
        return np.sum((P - Y) ** 2) / n
    # -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log1p(exp(-|z|)). For a
    # well-classified row (y = 1, z > 0 or y = 0, z < 0) the first two terms cancel exactly and
    # the last is accurate however small; logaddexp(0, z) - y z would round that row's small
    # loss to the ulp of z (measured: 1.5e-7 relative error in a total loss of 2e-9).
    return np.sum(np.maximum(z, 0) - Y * z + np.log1p(np.exp(-np.abs(z)))) / n


def output_delta(loss: str, P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``dJ/dZ_L`` of the mean loss."""
    n = Y.shape[0]
    if loss == "mse":
        return 2 * (P - Y) * P * (1 - P) / n
    return (P - Y) / n  # sigmoid's derivative cancels against dJ/dP


def loss_and_gradients(
    weights: Weights, X: np.ndarray, Y: np.ndarray, loss: str
) -> tuple[np.floating, Weights]:
    """Loss at ``weights`` and its gradient ``[(dW_1, db_1), ...]`` by backpropagation."""
    activations, z = forward(weights, X)
    P = activations[-1]
    J = loss_value(loss, z, P, Y)
    delta = output_delta(loss, P, Y)
    grads: Weights = []
    for layer in range(len(weights) - 1, -1, -1):
        A_prev = activations[layer]
        grads.append((A_prev.T @ delta, delta.sum(axis=0)))
        if layer > 0:
            W = weights[layer][0]
            delta = (delta @ W.T) * A_prev * (1 - A_prev)
    grads.reverse()
    return J, grads


def gradient_step(weights: Weights, grads: Weights, lr: float) -> Weights:
    """``W := W - lr dW`` and ``b := b - lr db`` for every layer (new arrays)."""
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(weights, grads, strict=True)]


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


def _cubic_minimizer(a, fa, da, b, fb, db, lo, hi):
    """Minimiser of the cubic interpolating ``f`` and ``f'`` at ``a`` and ``b`` (Nocedal and
    Wright eq. 3.59), clipped to ``[lo, hi]``; the midpoint of ``[lo, hi]`` when there is none
    or an end's value is infinite."""
    if math.isinf(fa) or math.isinf(fb):
        return (lo + hi) / 2
    d1 = da + db - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc >= 0:
        d2 = math.sqrt(disc)
        if a <= b:
            x = b - (b - a) * ((db + d2 - d1) / (db - da + 2 * d2))
        else:
            x = a - (a - b) * ((da + d2 - d1) / (da - db + 2 * d2))
        if math.isfinite(x):
            return min(max(x, lo), hi)
    return (lo + hi) / 2


def strong_wolfe_search(phi, f0, slope0, t, max_evals, width_tol, c1=1e-4, c2=0.9):
    """A step ``t`` along a descent direction satisfying the strong Wolfe conditions
    (Nocedal and Wright, algorithm 3.5 "line search" and 3.6 "zoom", with cubic interpolation).

    ``phi(t) -> (f, slope, payload)`` evaluates the loss and its directional derivative at
    step ``t`` (``f = inf`` for an unusable point). Returns ``(t, f, payload, evals)`` of the
    best point found (``t = 0`` with ``payload=None`` when none beat ``f0``)."""
    best = (0.0, f0, slope0, None)  # (t, f, slope, payload) of the previous trial
    f, slope, payload = phi(t)
    evals = 1
    cur = (t, f, slope, payload)
    bracket = None
    while True:  # algorithm 3.5: expand until the bracket [previous, current] is found
        if f > f0 + c1 * t * slope0 or (evals > 2 and f >= best[1]):
            bracket = [best, cur]
            break
        if abs(slope) <= -c2 * slope0:
            return t, f, payload, evals
        if slope >= 0:
            bracket = [best, cur]
            break
        if evals >= max_evals:
            bracket = [(0.0, f0, slope0, None), cur]
            break
        prev_t = best[0]
        t_next = _cubic_minimizer(prev_t, best[1], best[2], t, f, slope,
                                  t + 0.01 * (t - prev_t), 10 * t)  # fmt: skip
        best = cur
        t = t_next
        f, slope, payload = phi(t)
        evals += 1
        cur = (t, f, slope, payload)
    low, high = (bracket[0], bracket[1]) if bracket[0][1] <= bracket[1][1] else bracket[::-1]
    stuck = False
    while evals < max_evals:  # algorithm 3.6: zoom into [low, high]
        a, b = min(low[0], high[0]), max(low[0], high[0])
        if (b - a) * width_tol[0] < width_tol[1]:
            break
        t = _cubic_minimizer(*low[:3], *high[:3], a, b)
        margin = 0.1 * (b - a)
        if min(b - t, t - a) < margin:  # too close to an end of the bracket: move inwards
            if stuck or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f, slope, payload = phi(t)
        evals += 1
        cur = (t, f, slope, payload)
        if f > f0 + c1 * t * slope0 or f >= low[1]:
            high = cur
        else:
            if abs(slope) <= -c2 * slope0:
                return t, f, payload, evals
            if slope * (high[0] - low[0]) >= 0:
                high = low
            low = cur
        if high[1] < low[1]:
            low, high = high, low
    return low[0], low[1], low[3], evals


def lbfgs_iteration(loss_grad, p, vec, scal, history, max_line_search):
    """One L-BFGS iteration in place on ``p`` and the state ``vec``/``scal`` (``optim.LBFGS``).

    ``loss_grad(p) -> (J, g)``. Returns ``(f, outcome)``: the loss at the start of the
    iteration and ``"moved"``, ``"reset"`` (no step lowered the loss along the quasi-Newton
    direction: the curvature pairs are dropped, the next iteration descends steepest) or
    ``"stuck"`` (not even along the steepest descent direction: a minimum to the dtype's
    precision). Raises ``FloatingPointError`` when the loss or gradient at ``p`` is not
    finite.
    """
    n, m, dt = p.shape[0], history, p.dtype.type
    g = vec[:n]
    S = vec[n : (1 + m) * n].reshape(m, n)
    Y = vec[(1 + m) * n :].reshape(m, n)
    T, F, HAVE, COUNT, HEAD, EVALS, RHO = range(7)
    if scal[HAVE] == 0:
        J, g_new = loss_grad(p)
        scal[F], scal[EVALS], scal[HAVE] = float(J), scal[EVALS] + 1, 1
        g[...] = g_new
    f = scal[F]
    if not (math.isfinite(f) and math.isfinite(_dot64(g, g))):
        scal[HAVE] = 0
        raise FloatingPointError("the loss or its gradient is not finite")
    count, head = int(scal[COUNT]), int(scal[HEAD])
    newest_first = [(head - k) % m for k in range(count)]
    q = g.copy()  # two-loop recursion: q = H g
    alphas = {}
    for i in newest_first:
        alphas[i] = scal[RHO + i] * _dot64(S[i], q)
        q -= dt(alphas[i]) * Y[i]
    if count:
        q *= dt(_dot64(S[head], Y[head]) / _dot64(Y[head], Y[head]))
    for i in reversed(newest_first):
        q += dt(alphas[i] - scal[RHO + i] * _dot64(Y[i], q)) * S[i]
    d = -q
    slope = _dot64(g, d)
    if count == 0 or not slope < 0:
        count = 0
        scal[COUNT] = 0
        d = -g
        slope = _dot64(g, d)
        l1 = float(np.sum(np.abs(g.astype(np.float64))))
        t0 = min(1.0, 1.0 / l1) if l1 > 0 else 1.0
    else:
        t0 = 1.0
    if not slope < 0:
        return f, "stuck"

    def phi(t):
        x = p + dt(t) * d
        J, g_t = loss_grad(x)
        J = float(J)
        s = _dot64(g_t, d)
        if not (math.isfinite(J) and math.isfinite(s)):
            return math.inf, 0.0, (x, g_t)
        return J, s, (x, g_t)

    tol = 1e-9 if p.dtype == np.float64 else 1e-6
    dmax = float(np.max(np.abs(d.astype(np.float64))))
    t, f_new, payload, evals = strong_wolfe_search(phi, f, slope, t0, max_line_search, (dmax, tol))
    scal[EVALS] += evals
    if not (t > 0 and f_new < f):
        scal[COUNT] = 0
        return f, "reset" if count else "stuck"
    x_new, g_new = payload
    s, y = x_new - p, g_new - g
    ys = _dot64(s, y)
    if ys > 1e-10:
        i = (head + 1) % m
        S[i], Y[i] = s, y
        scal[RHO + i], scal[HEAD], scal[COUNT] = 1.0 / ys, i, min(count + 1, m)
    p[...] = x_new
    g[...] = g_new
    scal[F] = f_new
    scal[T] += 1
    return f, "moved"
