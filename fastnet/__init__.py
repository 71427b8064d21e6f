"""fastnet: full-batch gradient descent on small sigmoid networks with fused Numba kernels."""

from .losses import ALIASES as LOSS_NAMES
from .network import DivergedError, Network

__all__ = ["DivergedError", "LOSS_NAMES", "Network"]
__version__ = "0.1.0"
