"""The flat parameter layout, shared by the kernels, every backend and ``Network``.

Layer ``l`` stores ``W_l`` (``fan_in x fan_out``, row-major) at ``offs[l]``, followed by ``b_l``
(``fan_out``). Gradients and the optimizers' state vectors use the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Weights = list[tuple[np.ndarray, np.ndarray]]


def param_layout(sizes: np.ndarray) -> tuple[np.ndarray, int]:
    """Offsets of each layer's ``W`` (``b`` follows it) in the flat parameter vector, and its
    length: the one definition of the layout."""
    per_layer = sizes[:-1] * sizes[1:] + sizes[1:]
    offs = np.concatenate(([0], np.cumsum(per_layer)[:-1])).astype(np.int64)
    return offs, int(per_layer.sum())


@dataclass(frozen=True)
class Layout:
    """Where each layer's ``W`` and ``b`` live in the flat parameter vector."""

    sizes: np.ndarray  # (L + 1,) int64 layer widths
    offs: np.ndarray  # (L,) start of W_l; b_l follows it
    n_params: int

    @classmethod
    def from_sizes(cls, layers: Sequence[int]) -> Layout:
        sizes = np.asarray(layers, dtype=np.int64)
        offs, n_params = param_layout(sizes)
        return cls(sizes, offs, n_params)

    def views(self, flat: np.ndarray) -> Weights:
        """``[(W_1, b_1), ...]`` as views into ``flat``."""
        out = []
        for layer, off in enumerate(self.offs):
            fi, fo = int(self.sizes[layer]), int(self.sizes[layer + 1])
            W = flat[off : off + fi * fo].reshape(fi, fo)
            out.append((W, flat[off + fi * fo : off + fi * fo + fo]))
        return out

    def flatten(self, pairs: Weights, dtype: np.dtype) -> np.ndarray:
        """The flat vector of ``[(W_1, b_1), ...]`` (a new array)."""
        return np.concatenate([a.ravel() for pair in pairs for a in pair]).astype(dtype)
