"""The one comparison table behind ``bench/`` and ``python -m fastnet bench``.

``IMPLEMENTATIONS`` maps an implementation name to a *setup* function
``setup(workload, loss, dtype) -> run``. The setup builds the data and the initial weights of
the workload (docs/design.md section 4, via ``fastnet.data``) and converts them to what the
implementation needs; ``run()`` then trains ``workload.epochs`` full-batch epochs with
``tol=None`` from those same initial weights (every call starts afresh, so every call does the
same work) and returns the loss history as a NumPy array. Only ``run()`` is ever timed.

Implementations:

``fastnet``
    ``Network(backend="numba")``: the fused kernels.
``numpy``
    ``Network(backend="numpy")``: the textbook NumPy baseline (``fastnet/reference.py``).
``jax`` (optional peer)
    The whole training loop inside one ``jax.jit`` with ``lax.fori_loop``, gradients from
    ``jax.value_and_grad``.
``torch`` (optional peer)
    Eager PyTorch with autograd, updating the weights in place under ``torch.no_grad()``, on
    as many threads as numba uses.

All four start from the same weights on the same data, use the same losses (the log loss from
the logits; huber on a linear output; cross-entropy from the softmax's logits on the
multi-class workload C) and the same learning rate, so their loss histories agree (``bench/``
checks it).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .data import WORKLOADS, Workload, workload_data
from .network import Network

Run = Callable[[], np.ndarray]
Setup = Callable[[Workload, str, type], Run]

#: Every built-in loss, each on the output layer it is timed with (``Network(output=...)``):
#: mse and log on the sigmoid workloads' sigmoid output, huber on a linear output of the same
#: networks, cross_entropy on the softmax workload (C).
LOSSES = ("mse", "log", "huber", "cross_entropy")
OUTPUT_OF = {"mse": "sigmoid", "log": "sigmoid", "huber": "linear", "cross_entropy": "softmax"}


def workload_losses(workload: Workload) -> tuple[str, ...]:
    """The losses timed on ``workload``: those of its output layer kind."""
    if workload.output == "softmax":
        return tuple(loss for loss in LOSSES if OUTPUT_OF[loss] == "softmax")
    return tuple(loss for loss in LOSSES if OUTPUT_OF[loss] != "softmax")


DTYPES = (np.float64, np.float32)
#: Workloads left out of quick runs (``-m "not slow"`` in pytest, ``--quick`` in the report).
SLOW_WORKLOADS = ("L", "Deep")
#: Epochs per timed call in ``python -m fastnet bench --quick`` (ms/epoch is what is compared;
#: fewer epochs only mean fewer samples of it).
QUICK_EPOCHS = {"S": 200, "M": 10, "C": 10}
#: Rows and epochs of the smoke pass (benchmarks disabled): every case runs, on small data.
SMOKE_ROWS = 200
SMOKE_EPOCHS = 3


def smoke_workload(workload: Workload) -> Workload:
    """``workload`` with its layer widths but at most ``SMOKE_ROWS`` rows and ``SMOKE_EPOCHS``."""
    return dataclasses.replace(
        workload, n=min(workload.n, SMOKE_ROWS), epochs=min(workload.epochs, SMOKE_EPOCHS)
    )


@lru_cache(maxsize=4)
def _data(workload: Workload, dtype: type):
    """``workload_data`` cached, so the implementations of one case share one copy."""
    return workload_data(workload, dtype)


# --------------------------------------------------------------------------- fastnet, numpy
def _network_setup(backend: str) -> Setup:
    def setup(workload: Workload, loss: str, dtype: type) -> Run:
        X, y, weights = _data(workload, dtype)

        def run() -> np.ndarray:
            net = Network.from_weights(weights, loss=loss, output=OUTPUT_OF[loss],
                                       backend=backend)  # fmt: skip
            net.fit(X, y, lr=workload.lr, epochs=workload.epochs, tol=None)
            return net.history_

        return run

    setup.__doc__ = f'``Network(backend="{backend}")`` from the workload\'s initial weights.'
    return setup


# --------------------------------------------------------------------------- jax
def setup_jax(workload: Workload, loss: str, dtype: type) -> Run:
    """The whole loop in one ``jax.jit``: ``lax.fori_loop`` over ``value_and_grad`` steps."""
    import jax
    import jax.numpy as jnp

    # float64 arrays need x64 mode; float32 inputs still compute in float32 with it on.
    jax.config.update("jax_enable_x64", True)
    X, y, weights = _data(workload, dtype)
    n, lr, epochs = X.shape[0], workload.lr, workload.epochs

    def cost(params, X, Y):
        a = X
        for W, b in params:
            z = a @ W + b
            a = jax.nn.sigmoid(z)
        if loss == "mse":
            return jnp.sum((a - Y) ** 2) / n
        if loss == "huber":  # on the linear output z
            r = jnp.abs(z - Y)
            return jnp.sum(jnp.where(r <= 1, 0.5 * r * r, r - 0.5)) / n
        if loss == "cross_entropy":
            return -jnp.sum(Y * jax.nn.log_softmax(z, axis=1)) / n
        return jnp.sum(jnp.logaddexp(0, z) - Y * z) / n  # log loss from the logits

    value_and_grad = jax.value_and_grad(cost)

    @jax.jit
    def train(params, X, Y):
        def epoch(e, carry):
            params, hist = carry
            J, grads = value_and_grad(params, X, Y)
            params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
            return params, hist.at[e].set(J)

        return jax.lax.fori_loop(0, epochs, epoch, (params, jnp.zeros(epochs, X.dtype)))

    Xj, Yj = jnp.asarray(X), jnp.asarray(y.reshape(n, -1))
    params0 = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]

    def run() -> np.ndarray:
        _, hist = train(params0, Xj, Yj)
        return np.asarray(hist)  # waits for the result

    return run


# --------------------------------------------------------------------------- torch
def setup_torch(workload: Workload, loss: str, dtype: type) -> Run:
    """Eager PyTorch: autograd ``backward()`` and in-place updates, once per epoch."""
    import numba
    import torch
    import torch.nn.functional as F

    # Same number of threads as the numba kernels, so the comparison is like for like.
    torch.set_num_threads(numba.get_num_threads())
    X, y, weights = _data(workload, dtype)
    n, lr, epochs = X.shape[0], workload.lr, workload.epochs
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(y.reshape(n, -1))
    init = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in weights]

    def run() -> np.ndarray:
        params = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in init]
        hist = torch.empty(epochs, dtype=Xt.dtype)
        for e in range(epochs):
            a = Xt
            for W, b in params:
                z = torch.addmm(b, a, W)
                a = torch.sigmoid(z)
            if loss == "mse":
                J = ((a - Yt) ** 2).sum() / n
            elif loss == "huber":  # on the linear output z
                J = F.huber_loss(z, Yt, reduction="sum", delta=1.0) / n
            elif loss == "cross_entropy":
                J = -(Yt * torch.log_softmax(z, dim=1)).sum() / n
            else:
                J = F.binary_cross_entropy_with_logits(z, Yt, reduction="sum") / n
            J.backward()
            with torch.no_grad():
                hist[e] = J
                for W, b in params:
                    W -= lr * W.grad
                    b -= lr * b.grad
                    W.grad = None
                    b.grad = None
        return hist.numpy()

    return run


IMPLEMENTATIONS: dict[str, Setup] = {
    "fastnet": _network_setup("numba"),
    "numpy": _network_setup("numpy"),
    "jax": setup_jax,
    "torch": setup_torch,
}
#: The baseline every speedup is measured against, and the implementation under test.
BASELINE = "numpy"
SUBJECT = "fastnet"
#: Optional implementations and the packages they need.
PEERS = {"jax": ("jax", "jaxlib"), "torch": ("torch",)}


def unavailable(name: str) -> str | None:
    """Why implementation ``name`` cannot run here (a missing package), or ``None``."""
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation {name!r}; valid: {', '.join(IMPLEMENTATIONS)}")
    missing = [m for m in PEERS.get(name, ()) if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"{name} is not installed (missing {', '.join(missing)}): "
            "pip install 'fastnet-numba[peers]'"
        )
    return None


def available_implementations() -> list[str]:
    """Names of the implementations that can run here, in table order."""
    return [name for name in IMPLEMENTATIONS if unavailable(name) is None]


def cases(workloads=tuple(WORKLOADS), losses=LOSSES, dtypes=DTYPES):
    """Every ``(workload name, loss, dtype)`` case, workload-major, each workload with the
    losses of its output layer (``workload_losses``)."""
    return [
        (w, loss, dt)
        for w in workloads
        for loss in losses
        if loss in workload_losses(WORKLOADS[w])
        for dt in dtypes
    ]


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name
