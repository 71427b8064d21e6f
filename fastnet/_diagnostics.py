"""Checks that a finished ``fit`` produced a model that can be of use (issue 14, item 5).

A network whose hidden units are all saturated, or that gives every row the same output while
the targets vary, has stopped learning: the stopping rule then reports it converged, and
nothing else would tell the user. ``diagnose`` looks at a fixed sample of the training rows
with the final weights (plain NumPy, float64) and returns what is wrong, or ``None``.
"""

from __future__ import annotations

import numpy as np

from . import reference

#: Rows looked at: every ``ceil(n / SAMPLE_ROWS)``-th row of the training data (all of them
#: when there are no more than this).
SAMPLE_ROWS = 256
#: A unit is saturated where ``|z| > SATURATED_Z``: ``sigmoid'(z) < 4.6e-5`` there, so its
#: gradient has all but vanished.
SATURATED_Z = 10.0
#: A hidden unit is dead when it is saturated with the same sign for this share of the rows:
#: it outputs a constant and passes no gradient. (Units saturated on both sides, as a long
#: L-BFGS fit without a penalty makes them, still work as step functions: 99 % of a regressor's
#: (row, unit) values on load_diabetes, none of its units dead, R^2 0.75.)
SATURATED_SHARE = 0.99
#: A hidden layer is saturated when this share of its units is dead (unscaled breast-cancer
#: features: 14 of 16).
DEAD_UNITS_SHARE = 0.5
#: Outputs whose range over the rows is below this share of the targets' range (1 for 0/1
#: labels) are "the same for every row" (constant targets: no output is constant then).
CONSTANT_SPREAD = 1e-3
#: ``fit`` runs the checks when it converged or ran at least this many epochs: a fit of a few
#: epochs (one step of a longer loop, or a timed run to a target) is not judged, and the check
#: (0.1-0.2 ms on this project's machine: a forward pass over the sample in NumPy) stays small
#: next to a fit of that many epochs.
MIN_EPOCHS = 50

_SCALE_HINT = (
    "features are not scaled: standardise X, e.g. with sklearn.preprocessing.StandardScaler"
)


class FitWarning(UserWarning):
    """A ``fit`` ended with a network that is likely useless (saturated or constant)."""


def diagnose(weights, X: np.ndarray, Y: np.ndarray, output: str = "sigmoid") -> str | None:
    """What makes the network ``weights`` (``[(W, b), ...]``) useless on ``X``/``Y`` (the
    checked training data, ``Y`` of shape ``(n, k)``), or ``None``."""
    step = -(-X.shape[0] // SAMPLE_ROWS)  # every step-th row: a view, at most SAMPLE_ROWS
    a = X[::step]
    Ys = Y[::step]
    for layer, (W, b) in enumerate(weights, start=1):
        z = a @ W + b  # in the network's dtype: |z| > 10 needs no more
        if layer < len(weights):
            rows = z.shape[0] * SATURATED_SHARE
            dead = (np.count_nonzero(z > SATURATED_Z, axis=0) >= rows) | (
                np.count_nonzero(z < -SATURATED_Z, axis=0) >= rows
            )
            if np.count_nonzero(dead) >= DEAD_UNITS_SHARE * z.shape[1]:
                return (
                    f"hidden layer {layer} is saturated: {np.count_nonzero(dead)} of its "
                    f"{z.shape[1]} units have |z| > {SATURATED_Z:g} with the same sign for "
                    f"{SATURATED_SHARE:.0%} of the rows, so they output a constant and pass "
                    f"no gradient (training stalls). The likely cause: {_SCALE_HINT}"
                )
        if layer < len(weights) or output == "sigmoid":
            a = reference.sigmoid(z)
        elif output == "softmax":
            a = reference.softmax(z)
        else:
            a = z
    spread = a.max(axis=0) - a.min(axis=0)
    target_range = Ys.max(axis=0) - Ys.min(axis=0)
    if np.any(spread < CONSTANT_SPREAD * target_range):
        return (
            "the network predicts (nearly) the same output for every row (range "
            f"{float(spread.min()):.2g}) although the targets vary: it has learnt nothing "
            f"useful. The likely cause: {_SCALE_HINT}; otherwise a step size too large or too "
            "small, or too few epochs"
        )
    return None
