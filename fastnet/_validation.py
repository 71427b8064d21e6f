"""Input validation shared by every public entry point.

Every check runs in Python before any compiled code, and every error names the argument.
Inputs are never modified: conversions always produce new arrays when anything must change.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BACKENDS = ("numba", "numpy")


def check_dtype(dtype: object) -> np.dtype:
    """``np.float32``/``np.float64`` (or their names) -> ``np.dtype``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from exc
    if dt not in DTYPES:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dt.name!r}")
    return dt


def check_backend(backend: object) -> str:
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def check_int(value: object, name: str, minimum: int) -> int:
    """An integer (not a bool, not a float) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_float(value: object, name: str, *, positive: bool) -> float:
    """A finite real number, ``> 0`` if ``positive`` else ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_layers(layers: object) -> tuple[int, ...]:
    """Layer widths ``(d, h1, ..., k)``: at least two positive integers."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a sequence of integers like (d, h, k), got {layers!r}")
    sizes = tuple(layers)
    if len(sizes) < 2:
        raise ValueError(f"layers needs at least two sizes (inputs, outputs), got {sizes!r}")
    return tuple(check_int(s, f"layers[{i}]", 1) for i, s in enumerate(sizes))


def as_float_array(a: object, name: str, dtype: np.dtype) -> np.ndarray:
    """A finite array of ``dtype`` (a new array whenever conversion is needed).

    Booleans and integers are converted; strings, objects and complex numbers are rejected.
    """
    if hasattr(a, "__array_namespace__") and type(a).__module__.startswith("dask"):
        raise TypeError(f"{name} is a dask array: use fastnet.distributed for dask inputs")
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric, got an object array") from exc
    elif kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=dtype)
    if not out.flags.writeable:  # the kernels' types are for writeable arrays; we never write
        out = out.copy()
    if out.size and not np.isfinite(out).all():
        if np.isfinite(arr.astype(np.float64)).all():
            raise ValueError(
                f"{name} has values too large for {dtype.name} (they overflow to inf)"
            )
        raise ValueError(f"{name} contains NaN or infinity")
    return out


def check_X(X: object, n_features: int, dtype: np.dtype, name: str = "X") -> np.ndarray:
    """``(n, n_features)`` finite, C-contiguous, of ``dtype``; ``n >= 1``."""
    arr = as_float_array(X, name, dtype)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 samples (shape {arr.shape})")
    if arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the network expects {n_features}"
        )
    return arr


def check_y(y: object, n_samples: int, n_outputs: int, dtype: np.dtype, unit: bool) -> np.ndarray:
    """Targets as ``(n_samples, n_outputs)``; ``unit`` requires every value in [0, 1]."""
    arr = as_float_array(y, "y", dtype)
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_outputs:
        want = "(n_samples,) or (n_samples, 1)" if n_outputs == 1 else f"(n_samples, {n_outputs})"
        raise ValueError(f"y must have shape {want} for this network, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"y has {arr.shape[0]} samples but X has {n_samples}")
    if unit and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"y must lie in [0, 1] for the log loss, got values in [{arr.min()}, {arr.max()}]"
        )
    return arr
