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

import numpy as np

from ._jit import jit


@jit
def mse(z, p, y, delta):
    """Squared error ``(p - y)^2``; ``dJ/dz = 2 (p - y) p (1 - p)`` (the sigmoid derivative)."""
    one = p.dtype.type(1)
    two = p.dtype.type(2)
    total = p.dtype.type(0)
    for i in range(p.shape[0]):
        r = p[i] - y[i]
        total += r * r
        delta[i] = two * r * p[i] * (one - p[i])
    return total


@jit
def log_loss(z, p, y, delta):
    """Binary cross-entropy from the logits; ``dJ/dz = p - y``.

    ``-[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log1p(exp(-|z|))`` is finite for
    every finite ``z``. With the sigmoid output, ``dJ/dp = (p - y) / (p (1 - p))`` and the
    sigmoid's derivative ``p (1 - p)`` cancel, leaving ``p - y``.
    """
    zero = p.dtype.type(0)
    total = p.dtype.type(0)
    for i in range(p.shape[0]):
        zi = z[i]
        total += max(zi, zero) - y[i] * zi + np.log1p(np.exp(-abs(zi)))
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
