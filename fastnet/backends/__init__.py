"""Backends: one interface, chosen by name from a registry.

A backend is built for one network shape and dtype, ``backend = cls(layers, dtype)``, and
offers three calls on flat parameters (``fastnet._layout``) and checked data (``X`` ``(n, d)``,
``Y`` ``(n, k)`` in the network's dtype; the Dask backend takes dask arrays and checks their
blocks on the workers):

``runner(params, X, Y, loss, optimizer, vec, scal, tol, n_iter_no_change, stop_state)``
    ``run(epochs, hist) -> (epochs_run, status)``: a block of epochs of ``optimizer``
    (``fastnet.optim``) in place on ``params`` and the optimizer's state ``vec``/``scal``;
    ``hist[e]`` gets epoch ``e``'s loss (before its update). ``status`` is ``RAN_ALL``,
    ``CONVERGED`` (the stopping rule, ``tol < 0``: off, whose ``[best, count]`` is carried in
    ``stop_state``; or an L-BFGS minimum) or ``DIVERGED`` (the loss or an updated weight became
    non-finite: that update is not applied). ``fastnet._training`` drives it, and calls
    ``run.close()``, where a runner has one, when training ends.
``loss_grad(params, X, Y, loss) -> (J, g)``
    The mean loss and its flat gradient (a new array).
``predict(params, X) -> P``
    The ``(n, k)`` output activations.

``numba`` runs the fused kernels, ``numpy`` the textbook baseline (``fastnet.reference``),
``dask`` (used for dask arrays) sums the partitions' gradients on a cluster. A new backend is
one module and one line in ``BACKENDS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

#: Status codes of a runner (the kernels' codes).
RAN_ALL, CONVERGED, DIVERGED = 0, 1, 2

#: Backend name -> ``"module:class"``, imported on first use (numba and dask load lazily).
BACKENDS = {
    "numba": "fastnet.backends.numba:NumbaBackend",
    "numpy": "fastnet.backends.numpy:NumpyBackend",
    "dask": "fastnet.distributed:DaskBackend",
}
#: The backends a ``Network`` can be built with; ``dask`` is chosen by the data's type.
LOCAL_BACKENDS = ("numba", "numpy")


#: Validation metrics (the kernels' codes, ``_kernels.ACCURACY`` and ``R2``).
ACCURACY, R2 = 1, 2


@dataclass
class Validation:
    """Held-out rows for a runner (``runner(..., validation=)``): checked ``X`` ``(n_v, d)``,
    ``Y`` ``(n_v, k)``, row ``weights`` (``None``: all 1), the ``metric`` (``ACCURACY``:
    scikit-learn's classifier score, every output on the right side of 0.5 or the softmax's
    arg-max right; ``R2``: its regressor score), whether the score stops training (``early``),
    and the state carried across blocks: ``vstate = [best score, epochs without improvement,
    sum of weights, last score, ss_tot...]`` (``ss_tot``: each output's weighted total sum of
    squares), ``pbest`` (the parameters of the best score) and ``record`` (``(epochs, 2)``:
    the held-out loss and score after each epoch, row ``e`` for the runner's ``e``-th epoch).
    """

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    metric: int
    early: bool
    vstate: np.ndarray
    pbest: np.ndarray
    record: np.ndarray


class EvaluationError(RuntimeError):
    """A loss+gradient evaluation failed for a reason outside the maths (a lost cluster)."""


def get_backend(name: str) -> type:
    """The backend class registered as ``name``."""
    try:
        module, cls = BACKENDS[name].split(":")
    except KeyError:
        raise ValueError(f"backend must be one of {tuple(BACKENDS)}, got {name!r}") from None
    return getattr(importlib.import_module(module), cls)
