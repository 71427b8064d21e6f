"""fastnet: full-batch gradient descent on small sigmoid networks with fused Numba kernels."""

from .losses import ALIASES as LOSS_NAMES
from .network import DivergedError, Network
from .persistence import load

__all__ = ["DivergedError", "LOSS_NAMES", "Network", "load"]
__version__ = "0.1.0"
