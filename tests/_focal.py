"""A focal loss (gamma = 2) for a sigmoid output, registered by tests/test_register_loss.py."""

import numba
import numpy as np


@numba.njit(cache=False)
def focal(z, p, y, delta):
    """``-(y (1-p)^2 log p + (1-y) p^2 log(1-p))``; ``dJ/dz`` through ``dp/dz = p (1 - p)``."""
    total = z.dtype.type(0)
    for i in range(z.shape[0]):
        pi = p[i]
        lp = -np.log1p(np.exp(-z[i]))  # log p
        lq = -np.log1p(np.exp(z[i]))  # log (1 - p)
        total += -(y[i] * (1 - pi) ** 2 * lp + (1 - y[i]) * pi**2 * lq)
        dpos = 2 * (1 - pi) * lp * pi * (1 - pi) - (1 - pi) ** 2 * (1 - pi)
        dneg = -2 * pi * lq * pi * (1 - pi) + pi**2 * pi
        delta[i] = y[i] * dpos + (1 - y[i]) * dneg
    return total


def focal_reference(z, p, y, delta):
    lp = -np.log1p(np.exp(-z))
    lq = -np.log1p(np.exp(z))
    delta[...] = y * (2 * (1 - p) * lp * p * (1 - p) - (1 - p) ** 3) + (1 - y) * (
        -2 * p * lq * p * (1 - p) + p**3
    )
    return np.sum(-(y * (1 - p) ** 2 * lp + (1 - y) * p**2 * lq))
