"""Loss registry: user-facing names (and aliases) -> compiled loss functions.

A loss is one ``@njit`` function ``loss(z, p, y, delta) -> total`` over equal-length 1-D views of
the output layer of a row block: ``z`` the pre-activations, ``p = sigmoid(z)``, ``y`` the
targets. It returns the block's summed loss and writes ``dJ/dz`` per element, *before* the
``1/n`` of the mean, into ``delta``. The kernels receive it as an argument (first-class
function), so the training kernels do not change when a loss is added.

The two built-in losses are compiled in ``_kernels.py`` (section "losses"), next to the
vectorised exp they share with the sigmoid: numba's disk cache of a function is keyed on its
own file only, so compiled code that calls other compiled code lives in that one file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._kernels import log_loss, mse


@dataclass(frozen=True)
class Loss:
    """A registered loss: its canonical name and compiled block function."""

    name: str
    kernel: Callable
    needs_unit_targets: bool


LOSSES: dict[str, Loss] = {
    # The sigmoid output lies in [0, 1]: a target outside it cannot be reached (issue 14).
    "mse": Loss("mse", mse, needs_unit_targets=True),
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
