"""fastnet: full-batch training of small sigmoid networks with fused Numba kernels."""

from . import optim
from ._jit import get_threads, set_threads
from .losses import ALIASES as LOSS_NAMES
from .losses import register_loss, unregister_loss
from .network import DivergedError, FitWarning, Network
from .persistence import load

__all__ = [
    "DivergedError",
    "FitWarning",
    "LOSS_NAMES",
    "Network",
    "get_threads",
    "load",
    "optim",
    "register_loss",
    "set_threads",
    "unregister_loss",
]
__version__ = "0.1.0"

# Loaded on first use (module __getattr__), so `import fastnet` never imports matplotlib.
__all__ += ["plot_history"]


def __getattr__(name: str):
    if name == "plot_history":
        from .plotting import plot_history

        return plot_history
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
