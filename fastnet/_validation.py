"""Input validation shared by every public entry point.

Every check runs in Python before any compiled code, and every error names the argument.
Inputs are never modified: conversions always produce new arrays when anything must change.
"""

from __future__ import annotations

import decimal
import math
import numbers
import operator
import sys
from collections.abc import Iterable

import numpy as np

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BACKENDS = ("numba", "numpy")

#: Element types accepted inside an object array (a DataFrame of mixed columns, a list of
#: Decimals, ...). Strings are rejected even when they look like numbers: "1" is not 1.
_REAL_SCALARS = (numbers.Real, np.bool_, decimal.Decimal)


def check_dtype(dtype: object) -> np.dtype:
    """``np.float32``/``np.float64`` (or their names, either byte order) -> native dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from exc
    if dt.kind == "f":
        dt = dt.newbyteorder("=")  # '>f8' names float64 too; we compute in native order
    if dt not in DTYPES:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dt.name!r}")
    return dt


def check_backend(backend: object) -> str:
    """One of ``BACKENDS``."""
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


def check_n_iter_no_change(value: object, name: str = "n_iter_no_change") -> int | float:
    """An integer ``>= 1`` (as ``check_int``), or infinity (``np.inf``: never stop by ``tol``),
    as scikit-learn's ``n_iter_no_change`` accepts."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        if value == math.inf:
            return math.inf
        raise TypeError(
            f"{name} must be an integer or np.inf, got {type(value).__name__} {value!r}"
        )
    return check_int(value, name, 1)


def check_bool(value: object, name: str) -> bool:
    """``True`` or ``False`` (Python or NumPy booleans only: ``"no"`` is not false)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_float(
    value: object, name: str, *, positive: bool, dtype: np.dtype | None = None
) -> float:
    """A finite real number, ``> 0`` if ``positive`` else ``>= 0``.

    With ``dtype``, the value must also stay finite (and non-zero if ``positive``) once
    rounded to that dtype: ``lr=1e39`` is infinite and ``lr=1e-50`` is zero in float32.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if dtype is not None:
        with np.errstate(over="ignore"):
            rounded = dtype.type(value)
        if not np.isfinite(rounded):
            raise ValueError(f"{name}={value} is too large for {dtype.name} (it overflows to inf)")
        if positive and rounded == 0:
            raise ValueError(f"{name}={value} is too small for {dtype.name} (it rounds to 0)")
    return value


def check_layers(layers: object) -> tuple[int, ...]:
    """Layer widths ``(d, h1, ..., k)``: at least two positive integers."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a sequence of integers like (d, h, k), got {layers!r}")
    sizes = tuple(layers)
    if len(sizes) < 2:
        raise ValueError(f"layers needs at least two sizes (inputs, outputs), got {sizes!r}")
    return tuple(check_int(s, f"layers[{i}]", 1) for i, s in enumerate(sizes))


def is_dask_array(a: object) -> bool:
    """Whether ``a`` is a ``dask.array.Array``; never imports dask (no dask array without it)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(a, dask_array.Array)


def is_sparse(a: object) -> bool:
    """Whether ``a`` is a ``scipy.sparse`` matrix or array; never imports scipy.sparse (no
    sparse matrix without it)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(a)


def to_array(a: object, name: str) -> np.ndarray:
    """``np.asarray(a)`` (never a copy when ``a`` already is an array), errors naming ``name``.

    Rejects dask arrays (``fastnet.distributed`` handles those), sparse matrices (only ``X``
    may be sparse: ``check_X(..., sparse=True)``) and ragged nested sequences with a message
    instead of NumPy's.
    """
    module = type(a).__module__
    if is_dask_array(a):
        raise TypeError(f"{name} is a dask array: use fastnet.distributed for dask inputs")
    if module.startswith("scipy.sparse") or hasattr(a, "tocsr"):
        raise TypeError(f"{name} is a sparse matrix; pass a dense array ({name}.toarray())")
    try:
        return np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be read as a rectangular array of numbers "
            f"(ragged nested sequences?): {exc}"
        ) from exc


def input_limit(dtype: np.dtype) -> float:
    """The largest ``|x|`` that ``check_X`` accepts: ``sqrt(finfo(dtype).max)``, about 1.3e154
    for float64 and 1.8e19 for float32.

    Below it, an input times a weight of at most the same size is finite, so the first layer's
    products ``x_i * W_ij`` (and the gradient's ``x_i * delta_j``) cannot overflow for any
    weights a network can reasonably hold. The rule depends on ``X`` alone, not on the current
    weights: a weight-dependent bound (``max|X| * max_j sum_i |W_ij| + max|b|`` against
    ``finfo.max``) would accept such an ``X`` at small initial weights only for the first
    gradient step (``~ lr * |X|``) to push the weights to the same scale and overflow the next
    epoch, reported as a divergence instead of as the data's scale. Inputs this large saturate
    every sigmoid (it is flat beyond ``|z| ~ 40``) anyway: they need scaling.
    """
    return float(np.sqrt(np.finfo(dtype).max))


def as_float_array(
    a: object, name: str, dtype: np.dtype, *, max_abs: float | None = None
) -> np.ndarray:
    """A finite, C-contiguous, native-order, writeable array of ``dtype``.

    The result is ``a`` itself only when ``a`` already is exactly that; otherwise a new array.
    Booleans and integers are converted; strings, objects other than real numbers and complex
    numbers are rejected. Any shape (0-d included) is kept as is. With ``max_abs``, a value
    whose magnitude exceeds it is an error too (``check_X``'s ``input_limit``).
    """
    if type(a) is np.ndarray and a.dtype == dtype:  # the common case: no conversion to check
        arr = a
    else:
        arr = to_array(a, name)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if kind == "O":
        for v in arr.flat:
            if not isinstance(v, _REAL_SCALARS):
                raise TypeError(
                    f"{name} must be numeric, got an object array containing "
                    f"{type(v).__name__} {v!r}"
                )
        arr = arr.astype(np.float64)
    elif kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    flags = arr.flags
    if arr.dtype == dtype and flags.c_contiguous and flags.writeable:
        out = arr  # already what the kernels take (the common case: no conversion to watch)
    else:
        if arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize:
            with np.errstate(over="ignore"):  # overflow is reported below, naming the argument
                out = np.asarray(arr, dtype=dtype, order="C")
        else:  # integers and narrower floats cannot overflow
            out = np.asarray(arr, dtype=dtype, order="C")
        if not out.flags.writeable:  # the kernels' types are for writeable arrays; we never write
            out = out.copy()
    if not out.size:
        return out
    # min and max propagate NaN and show +-inf, without an n x d temporary (memory of a fit)
    lo, hi = out.min(), out.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        if np.isfinite(arr.astype(np.float64)).all():
            raise ValueError(
                f"{name} has values too large for {dtype.name} (they overflow to inf)"
            )
        raise ValueError(f"{name} contains NaN or infinity")
    if max_abs is not None and max(-lo, hi) > max_abs:
        raise ValueError(
            f"{name} has values as large as {float(max(-lo, hi)):.3g} in magnitude, above "
            f"sqrt(finfo({dtype.name}).max) = {max_abs:.3g}: the first layer's products "
            f"{name} @ W could overflow {dtype.name}. Scale {name} first (e.g. with "
            "sklearn.preprocessing.StandardScaler)"
        )
    return out


def weights_dtype(arrays: list[np.ndarray]) -> np.dtype:
    """The floating dtype shared by ``arrays`` (float64 if none is floating).

    Byte order does not count: big-endian and little-endian float64 are the same dtype here.
    """
    kinds = {a.dtype.newbyteorder("=") for a in arrays if a.dtype.kind == "f"}
    if len(kinds) > 1:
        names = sorted(k.name for k in kinds)
        raise ValueError(f"weights mix dtypes {names}; pass dtype= to convert them")
    dt = kinds.pop() if kinds else np.dtype(np.float64)
    if dt not in DTYPES:
        raise ValueError(
            f"weights have dtype {dt.name}; pass dtype=np.float32 or dtype=np.float64 "
            "to convert them"
        )
    return dt


def check_X(
    X: object, n_features: int, dtype: np.dtype, name: str = "X", *, sparse: bool = False
) -> np.ndarray:
    """``(n, n_features)`` finite, C-contiguous, of ``dtype``; ``n >= 1``; no value larger in
    magnitude than ``input_limit(dtype)`` (their products with the weights could overflow).

    With ``sparse``, a ``scipy.sparse`` ``X`` is accepted too and checked by
    ``check_sparse_X`` (a CSR matrix, then); otherwise it is a ``TypeError``."""
    if sparse and is_sparse(X):
        return check_sparse_X(X, n_features, dtype, name)
    arr = as_float_array(X, name, dtype, max_abs=input_limit(dtype))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 samples (shape {arr.shape})")
    if arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the network expects {n_features}"
        )
    return arr


#: The most stored values (and features) a CSR matrix may have for 32-bit indices; above it
#: ``check_sparse_X`` uses 64-bit ones (and the kernels compile a specialisation for them).
SPARSE_INT32_MAX = int(np.iinfo(np.int32).max)


def check_sparse_X(X: object, n_features: int, dtype: np.dtype, name: str = "X"):
    """A ``scipy.sparse`` ``X`` as a CSR matrix the kernels can take, with ``check_X``'s rules
    (2-D, ``n >= 1`` rows, ``n_features`` columns, finite values within ``input_limit``).

    A CSR matrix whose values are already C-contiguous, writeable ``dtype`` and whose indices
    are 32-bit is used as it is: the result shares its arrays (and is never written to). CSC and
    the other formats are converted by scipy (``tocsr``: a new matrix of the same size), values
    of another dtype are converted (a new ``data`` array) and 64-bit indices become 32-bit
    ones where they fit (new index arrays; 64-bit beyond ``SPARSE_INT32_MAX``). Indices need
    not be sorted, and duplicates count as their sum, as in scipy. A malformed matrix (an
    ``indptr`` that does not rise from 0, a column index outside ``[0, d)``) is a
    ``ValueError``: the kernels trust the structure.
    """
    import scipy.sparse as sp

    shape = X.shape
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {shape}")
    if X.format != "csr":  # scipy's conversion: the caller's matrix is left as it is
        X = X.tocsr()
    n, d = shape
    if n == 0:
        raise ValueError(f"{name} is empty: it has 0 samples (shape {shape})")
    if d != n_features:
        raise ValueError(f"{name} has {d} features, but the network expects {n_features}")
    data, indices, indptr = X.data, X.indices, X.indptr
    bad = f"{name} is not a valid CSR matrix: "
    for part, a in (("indices", indices), ("indptr", indptr)):
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise ValueError(bad + f"its {part} must be a 1-D integer array, got {a.dtype}")
    if data.ndim != 1 or indptr.shape[0] != n + 1:
        raise ValueError(bad + f"its indptr has {indptr.shape[0]} entries for {n} rows")
    nnz = int(indptr[-1])
    if indptr[0] != 0 or nnz > min(data.shape[0], indices.shape[0]):
        raise ValueError(
            bad + f"its indptr must run from 0 to at most its {data.shape[0]} stored values, "
            f"got {int(indptr[0])} to {nnz}"
        )
    if (indptr[1:] < indptr[:-1]).any():
        raise ValueError(bad + "its indptr decreases")
    if nnz < data.shape[0] or nnz < indices.shape[0]:
        data, indices = data[:nnz], indices[:nnz]
    if nnz and (indices.min() < 0 or indices.max() >= d):
        raise ValueError(
            bad + f"its column indices must lie in [0, {d}), got "
            f"{int(indices.min())} to {int(indices.max())}"
        )
    values = as_float_array(data, name, dtype, max_abs=input_limit(dtype))
    index = np.int32 if max(nnz, d) <= SPARSE_INT32_MAX else np.int64
    kept = [values is X.data]
    for a in (indices, indptr):
        kept.append(a.dtype == index and a.flags.c_contiguous and a.flags.writeable)
    if all(kept) and indices is X.indices:
        return X  # already what the kernels take (the common case): no copy
    # a new matrix of the checked arrays (new ones where they had to change: the caller's
    # are never written)
    indices, indptr = (a if k else np.array(a, dtype=index)
                       for a, k in zip((indices, indptr), kept[1:], strict=True))  # fmt: skip
    return sp.csr_matrix((values, indices, indptr), shape=(n, d))


def check_y(
    y: object, n_samples: int, n_outputs: int, dtype: np.dtype, unit: bool, output: str = "sigmoid"
) -> np.ndarray:
    """Targets as ``(n_samples, n_outputs)``; ``unit`` requires every value in [0, 1] (the
    sigmoid output's range; ``output`` only words the message)."""
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
            f"y must lie in [0, 1]: the output layer is a sigmoid, whose outputs (and the log "
            f"loss's and score's labels) lie there; got values in [{arr.min()}, {arr.max()}]. "
            "Scale regression targets onto [0, 1] (e.g. with "
            "sklearn.preprocessing.MinMaxScaler, or use fastnet.sklearn.FastNetRegressor, which "
            "does it for you), or use output='linear'"
            if output == "sigmoid"
            else f"y must lie in [0, 1] for this loss; got values in [{arr.min()}, {arr.max()}]"
        )
    return arr


def class_tolerance(dtype: np.dtype) -> float:
    """How far from 1 a probability row's sum may be (rounding): ``sqrt(eps)``, 1.5e-8 in
    float64, 3.5e-4 in float32."""
    return float(np.sqrt(np.finfo(dtype).eps))


def check_class_targets(y: object, n_samples: int, n_classes: int, dtype: np.dtype) -> np.ndarray:
    """A softmax output's targets as ``(n_samples, n_classes)`` probability rows: integer labels
    ``0..n_classes-1`` of shape ``(n_samples,)`` become one-hot rows; rows ``(n_samples,
    n_classes)`` must be non-negative and sum to 1 (to ``class_tolerance``)."""
    arr = to_array(y, "y")
    if arr.ndim == 1:
        labels = as_float_array(arr, "y", np.dtype(np.float64))
        if labels.shape[0] != n_samples:
            raise ValueError(f"y has {labels.shape[0]} samples but X has {n_samples}")
        bad = (labels != np.round(labels)) | (labels < 0) | (labels > n_classes - 1)
        if bad.any():
            v = labels[bad][0]
            raise ValueError(
                f"y holds class labels, which must be integers in 0..{n_classes - 1} for this "
                f"network's {n_classes} softmax outputs; got {float(v)!r}"
            )
        Y = np.zeros((n_samples, n_classes), dtype)
        Y[np.arange(n_samples), labels.astype(np.intp)] = 1
        return Y
    Y = as_float_array(arr, "y", dtype)
    if Y.ndim != 2 or Y.shape[1] != n_classes:
        raise ValueError(
            f"y must be labels of shape (n_samples,) or probability rows of shape "
            f"(n_samples, {n_classes}) for this network, got shape {Y.shape}"
        )
    if Y.shape[0] != n_samples:
        raise ValueError(f"y has {Y.shape[0]} samples but X has {n_samples}")
    if Y.min() < 0:
        raise ValueError(f"y's probability rows must be non-negative, got {float(Y.min())!r}")
    sums = Y.astype(np.float64).sum(axis=1)
    off = np.abs(sums - 1)
    if off.max() > class_tolerance(dtype):
        i = int(np.argmax(off))
        raise ValueError(
            f"y's rows must sum to 1 (one-hot or probability rows of a softmax output): row {i} "
            f"sums to {float(sums[i])!r}"
        )
    return Y


def check_outputs(P: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``P`` itself when every output is finite; NaN outputs are an error, never a prediction.

    Finite weights and inputs can still overflow a layer's logits (``inf - inf`` is NaN), e.g.
    at the last finite weights of a diverged ``fit``; ``predict`` would turn NaN into label 0.
    """
    if not np.isfinite(P).all():
        raise FloatingPointError(
            f"the network's outputs contain NaN: a layer's logits overflowed {dtype.name} "
            "(the weights or X are too large)"
        )
    return P


def check_sample_weight(
    sample_weight: object,
    n_samples: int,
    dtype: np.dtype,
    name: str = "sample_weight",
    *,
    positive_sum: bool = True,
) -> np.ndarray | None:
    """``None``, or a 1-D array of ``n_samples`` finite, non-negative weights of ``dtype``
    with a positive sum (unless not ``positive_sum``: one partition of the rows); a new array,
    so the caller's is never written."""
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, name, dtype)
    if w.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {w.shape}")
    if w.shape[0] != n_samples:
        raise ValueError(f"{name} has {w.shape[0]} values but X has {n_samples} samples")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {w.min()}")
    if positive_sum and not w.sum(dtype=np.float64) > 0:
        raise ValueError(
            f"{name} is all zero (its sum must be positive: at least one row must count)"
        )
    return w.copy() if w is sample_weight else w
