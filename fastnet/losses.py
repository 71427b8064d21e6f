"""Loss registry: user-facing names (and aliases) -> compiled loss functions.

A loss is one ``@njit`` function ``loss(z, p, y, delta) -> total`` over equal-length 1-D views of
the output layer of a row block: ``z`` the pre-activations, ``p = sigmoid(z)``, ``y`` the
targets. It returns the block's summed loss and writes ``dJ/dz`` per element, *before* the
``1/n`` of the mean, into ``delta``. The kernels receive it as an argument (first-class
function), so adding a loss never touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from ._jit import JIT_OPTIONS, jit
from ._kernels import _pow2, _wide_vectors


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
    (``_kernels._pow2`` supplies 2^t; ``|z|`` is clamped at 708, so ``u`` stays normal), then
    ``log1p(u) = log(w) + (u - (w - 1)) / w`` with ``w = 1 + u`` and fdlibm's ``log``. The
    per-output losses go through ``delta`` and are summed by ``_sum``.
    """
    _wide_vectors()
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LG
    n = p.shape[0]
    for i in range(n):
        zi = np.float64(z[i])
        x = max(-abs(zi), -708.0)
        t = np.floor(x * 1.4426950408889634 + 0.5)
        r = (x - t * _LN2_HI) - t * _LN2_LO
        q = 2.5110037605963777e-08
        q = q * r + 2.763263963904103e-07
        q = q * r + 2.755724091857897e-06
        q = q * r + 2.4801485482328494e-05
        q = q * r + 0.00019841269890047113
        q = q * r + 0.0013888888952314775
        q = q * r + 0.008333333333319601
        q = q * r + 0.0416666666664881
        q = q * r + 0.1666666666666668
        q = q * r + 0.5000000000000019
        q = q * r + 1.0
        u = (q * r + 1.0) * _pow2(t)  # exp(-|z|), in (2^-1022, 1]
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
        # (u - (w - 1)) is the rounding error of w = 1 + u, exactly; dividing it by w, or
        # multiplying by 2 - w as here, differs by far less than an ulp of the result
        delta[i] = max(zi, 0.0) - y[i] * zi + (log_w + (u - (w - 1.0)) * (2.0 - w))
    total = _sum(delta[:n])
    for i in range(n):
        delta[i] = p[i] - y[i]
    return total


@dataclass(frozen=True)
class Loss:
    """A registered loss: its canonical name and compiled block function."""

    name: str
    kernel: Callable
    needs_unit_targets: bool


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", mse, needs_unit_targets=False),
    "log": Loss("log", log_loss, needs_unit_targets=True),
}

ALIASES: dict[str, str] = {
    "mse": "mse",
    "squared_error": "mse",
    "log": "log",
    "bce": "log",
    "binary_crossentropy": "log",
    "log_loss": "log",
}


def get_loss(name: object) -> Loss:
    """Look a loss up by name or alias; an unknown name lists the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"loss must be a string, got {type(name).__name__}")
    key = ALIASES.get(name.lower())
    if key is None:
        valid = ", ".join(repr(a) for a in sorted(ALIASES))
        raise ValueError(f"unknown loss {name!r}; valid names are {valid}")
    return LOSSES[key]
