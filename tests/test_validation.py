"""Every bad input on every public entry point: a clear ValueError/TypeError, raised in Python.

Each case asserts the exception type and a fragment of its message, on both backends, and
checks that the exception was raised by fastnet's own Python code (the last traceback frame is
in the ``fastnet`` package), not by NumPy or from inside a compiled kernel. Also: inputs that
must be *accepted* (other memory layouts, byte orders, integers, booleans) give exactly the
results of their contiguous float copies, and the caller's arrays are never modified.
"""

import hashlib
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import fastnet
from fastnet import Network, _engine

PACKAGE_DIR = Path(fastnet.__file__).parent
LAYERS = (3, 4, 1)
N = 6


def data(n=N, d=3, k=1, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    Y = (rng.random((n, k)) < 0.5).astype(dtype)
    return X, (Y[:, 0] if k == 1 else Y)


def raises(exc, fragment, fn, *args, **kwargs):
    """Assert ``fn(*args, **kwargs)`` raises ``exc`` with ``fragment`` in its message, from
    fastnet's own Python code."""
    with pytest.raises(exc, match=re.escape(fragment)) as info:
        fn(*args, **kwargs)
    assert info.type is exc or issubclass(info.type, exc)
    last = Path(str(info.traceback[-1].path))
    assert last.parent == PACKAGE_DIR, f"raised in {last}, not by fastnet's checks"
    return info


# --------------------------------------------------------------------------- entry points
CALLS = {
    "fit": lambda net, X, y: net.fit(X, y, epochs=2),
    "predict": lambda net, X, y: net.predict(X),
    "predict_proba": lambda net, X, y: net.predict_proba(X),
    "loss": lambda net, X, y: net.loss(X, y),
    "gradients": lambda net, X, y: net.gradients(X, y),
    "score": lambda net, X, y: net.score(X, y),
}
Y_CALLS = ["fit", "loss", "gradients", "score"]

_X, _y = data()
_ragged = [[1.0, 2.0, 3.0], [1.0, 2.0]]

# (id, bad X, exception, message fragment)
BAD_X = [
    ("1-D", _X[:, 0], ValueError, "X must be 2-D (n_samples, n_features), got shape (6,)"),
    ("3-D", _X[None], ValueError, "X must be 2-D (n_samples, n_features), got shape (1, 6, 3)"),
    ("scalar", 1.0, ValueError, "X must be 2-D (n_samples, n_features), got shape ()"),
    ("wrong features", np.ones((N, 5)), ValueError, "X has 5 features, but the network expects 3"),
    ("no features", np.ones((N, 0)), ValueError, "X has 0 features, but the network expects 3"),
    ("no rows", np.ones((0, 3)), ValueError, "X is empty: it has 0 samples"),
    ("nan", np.where(np.eye(N, 3) > 0, np.nan, _X), ValueError, "X contains NaN or infinity"),
    ("+inf", np.where(np.eye(N, 3) > 0, np.inf, _X), ValueError, "X contains NaN or infinity"),
    ("-inf", np.where(np.eye(N, 3) > 0, -np.inf, _X), ValueError, "X contains NaN or infinity"),
    ("strings", _X.astype(str), TypeError, "X must be numeric, got dtype <U"),
    ("bytes", _X.astype(bytes), TypeError, "X must be numeric, got dtype |S"),
    ("object str", _X.astype(str).astype(object), TypeError, "object array containing str"),
    ("object None", np.full((N, 3), None), TypeError, "object array containing NoneType"),
    ("complex", _X + 1j, TypeError, "X must be real-valued, got complex dtype complex128"),
    ("datetime", np.zeros((N, 3), "datetime64[s]"), TypeError, "X must be numeric"),
    ("ragged", _ragged, ValueError, "X could not be read as a rectangular array of numbers"),
]


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize(
    ("bad", "exc", "fragment"), [c[1:] for c in BAD_X], ids=[c[0] for c in BAD_X]
)
def test_bad_X_on_every_entry_point(backend, call, bad, exc, fragment):
    net = Network(LAYERS, backend=backend)
    raises(exc, fragment, CALLS[call], net, bad, _y)


@pytest.mark.parametrize("call", list(CALLS))
def test_X_too_large_for_float32(backend, call):
    net = Network(LAYERS, dtype=np.float32, backend=backend)
    X = _X.copy()
    X[2, 1] = 1e39  # finite in float64, inf in float32
    raises(ValueError, "X has values too large for float32", CALLS[call], net, X, _y)


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_X_so_large_that_the_first_layer_overflows_asks_to_scale_X(backend, call, dtype):
    # scikit-learn's test_nonfinite_params: X = finfo(dtype).max * U(0, 1)
    X = np.finfo(dtype).max * np.random.RandomState(0).uniform(size=(N, 3))
    net = Network(LAYERS, dtype=dtype, backend=backend)
    before = net.weights
    raises(ValueError, f"above sqrt(finfo({np.dtype(dtype).name}).max)", CALLS[call], net, X, _y)
    raises(ValueError, "Scale X first", CALLS[call], net, X, _y)
    assert net.n_epochs_ == 0 and len(net.history_) == 0
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    # the bound: one value just above sqrt(finfo.max) is rejected, X at the bound is accepted
    # and its first layer stays finite (the loss and the gradient too)
    limit = np.sqrt(np.finfo(dtype).max)  # in dtype: exactly representable
    at = np.sign(_X) * limit * np.abs(_X) / np.abs(_X).max()
    above = at.copy()
    above[2, 1] = np.nextafter(dtype(limit), dtype(np.inf))
    raises(ValueError, "Scale X first", CALLS[call], net, above, _y)
    loss, grads = net.loss_and_gradients(at.astype(dtype), _y)
    assert np.isfinite(loss) and all(np.isfinite(a).all() for pair in grads for a in pair)


_X2, _y2 = data(k=2)

# (id, network output count, bad y, exception, fragment)
BAD_Y = [
    ("short", 1, _y[:4], ValueError, "y has 4 samples but X has 6"),
    ("long", 1, np.r_[_y, _y], ValueError, "y has 12 samples but X has 6"),
    ("too wide", 1, _y2, ValueError, "y must have shape (n_samples,) or (n_samples, 1)"),
    ("1-D for 2 outputs", 2, _y, ValueError, "y must have shape (n_samples, 2) for this network"),
    ("3 cols for 2 outputs", 2, np.ones((N, 3)), ValueError, "y must have shape (n_samples, 2)"),
    ("3-D", 1, _y[:, None, None], ValueError, "got shape (6, 1, 1)"),
    ("scalar", 1, 1.0, ValueError, "got shape ()"),
    ("nan", 1, np.where(np.arange(N) == 2, np.nan, _y), ValueError, "y contains NaN or infinity"),
    ("inf", 1, np.where(np.arange(N) == 2, np.inf, _y), ValueError, "y contains NaN or infinity"),
    ("strings", 1, _y.astype(str), TypeError, "y must be numeric"),
    ("object str", 1, _y.astype(str).astype(object), TypeError, "y must be numeric"),
    ("complex", 1, _y + 0j, TypeError, "y must be real-valued"),
    ("ragged", 2, [[0.0, 1.0]] * 5 + [[0.0]], ValueError, "y could not be read as a rectangular"),
    # a sparse X is accepted (tests/test_sparse.py), a sparse y is not
    ("sparse", 1, scipy.sparse.csr_matrix(_y[:, None]), TypeError, "y is a sparse matrix"),
]


@pytest.mark.parametrize("call", Y_CALLS)
@pytest.mark.parametrize(
    ("k", "bad", "exc", "fragment"), [c[1:] for c in BAD_Y], ids=[c[0] for c in BAD_Y]
)
def test_bad_y_on_every_entry_point(backend, call, k, bad, exc, fragment):
    net = Network((3, 4, k), backend=backend)
    raises(exc, fragment, CALLS[call], net, _X, bad)


@pytest.mark.parametrize("call", ["fit", "loss", "gradients"])
@pytest.mark.parametrize("value", [-0.5, 1.5])
@pytest.mark.parametrize("loss", ["log", "mse"])
def test_sigmoid_output_needs_targets_in_unit_interval(backend, call, value, loss):
    # the sigmoid output cannot reach a target outside [0, 1], with either loss (issue 14)
    y = np.where(np.arange(N) == 3, value, _y)
    raises(ValueError, "y must lie in [0, 1]", CALLS[call], Network(LAYERS, loss, backend=backend),
           _X, y)  # fmt: skip


@pytest.mark.parametrize(
    ("y", "fragment"),
    [
        (np.full(N, 0.5), "y must contain only 0/1 labels"),
        (np.full(N, 2.0), "y must lie in [0, 1]"),
    ],
)
def test_score_needs_0_1_labels(backend, y, fragment):
    raises(ValueError, fragment, Network(LAYERS, backend=backend).score, _X, y)


# --------------------------------------------------------------------------- Network(...)
@pytest.mark.parametrize(
    ("layers", "exc", "fragment"),
    [
        ((3,), ValueError, "layers needs at least two sizes"),
        ((), ValueError, "layers needs at least two sizes"),
        ((3, 0, 1), ValueError, "layers[1] must be >= 1, got 0"),
        ((3, 4, -2), ValueError, "layers[2] must be >= 1, got -2"),
        ((3, 4.0, 1), TypeError, "layers[1] must be an integer, got float 4.0"),
        ((3, True, 1), TypeError, "layers[1] must be an integer, got bool"),
        ((3, "4", 1), TypeError, "layers[1] must be an integer, got str"),
        ("341", TypeError, "layers must be a sequence of integers"),
        (5, TypeError, "layers must be a sequence of integers"),
        (None, TypeError, "layers must be a sequence of integers"),
    ],
)
def test_bad_layers(backend, layers, exc, fragment):
    raises(exc, fragment, Network, layers, backend=backend)


def test_layer_sizes_may_be_numpy_integers(backend):
    net = Network(np.array([3, 4, 1]), backend=backend)
    assert net.layers == (3, 4, 1) and all(type(s) is int for s in net.layers)


def test_unknown_loss_lists_the_valid_names(backend):
    info = raises(
        ValueError,
        "unknown loss 'hinge'; valid names are",
        Network,
        LAYERS,
        "hinge",
        backend=backend,
    )
    for name in ("mse", "squared_error", "log", "bce", "binary_crossentropy", "log_loss"):
        assert repr(name) in str(info.value)
    raises(TypeError, "loss must be a string, got int", Network, LAYERS, 3, backend=backend)


def test_unknown_backend():
    for bad in ("cuda", "NUMBA", None, 1):
        raises(
            ValueError, "backend must be one of ('numba', 'numpy')", Network, LAYERS, backend=bad
        )


@pytest.mark.parametrize(
    ("dtype", "exc", "fragment"),
    [
        (np.float16, ValueError, "dtype must be np.float32 or np.float64, got 'float16'"),
        (np.int64, ValueError, "dtype must be np.float32 or np.float64, got 'int64'"),
        (np.complex128, ValueError, "got 'complex128'"),
        ("garbage", TypeError, "dtype must be np.float32 or np.float64, got 'garbage'"),
    ],
)
def test_unknown_dtype(backend, dtype, exc, fragment):
    raises(exc, fragment, Network, LAYERS, dtype=dtype, backend=backend)


@pytest.mark.parametrize("name", ["float32", ">f4", "<f4", np.float32])
def test_dtype_names_and_byte_orders_are_accepted(backend, name):
    assert Network(LAYERS, dtype=name, backend=backend).dtype == np.dtype(np.float32)


@pytest.mark.parametrize(
    ("seed", "exc", "fragment"),
    [
        (-1, ValueError, "seed must be >= 0"),
        (1.5, TypeError, "seed must be an integer"),
        ("0", TypeError, "seed must be an integer"),
    ],
)
def test_bad_seed(backend, seed, exc, fragment):
    raises(exc, fragment, Network, LAYERS, seed=seed, backend=backend)


# --------------------------------------------------------------------------- from_weights
def _w(*shapes, dtype=np.float64):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(s).astype(dtype), np.zeros(s[1], dtype)) for s in shapes]


def _with(weights, layer, which, value):
    out = [list(pair) for pair in weights]
    out[layer][which] = value
    return [tuple(pair) for pair in out]


_W = _w((3, 4), (4, 1))
BAD_WEIGHTS = [
    (
        "no chain",
        _w((3, 4), (5, 1)),
        ValueError,
        "(W) has 5 rows but layer 1 has 4 outputs: shapes must chain",
    ),
    (
        "mixed dtypes",
        _with(_W, 1, 1, np.zeros(1, np.float32)),
        ValueError,
        "weights mix dtypes ['float32', 'float64']",
    ),
    ("float16", _w((3, 4), dtype=np.float16), ValueError, "weights have dtype float16"),
    (
        "b shape",
        _with(_W, 0, 1, np.zeros(5)),
        ValueError,
        "weights[0][1] (b) must have shape (4,), got (5,)",
    ),
    (
        "b 2-D",
        _with(_W, 0, 1, np.zeros((1, 4))),
        ValueError,
        "weights[0][1] (b) must have shape (4,)",
    ),
    (
        "W 1-D",
        _with(_W, 0, 0, np.zeros(3)),
        ValueError,
        "weights[0][0] (W) must be a non-empty 2-D array",
    ),
    ("W empty", [(np.zeros((3, 0)), np.zeros(0))], ValueError, "must be a non-empty 2-D array"),
    (
        "W nan",
        _with(_W, 0, 0, np.full((3, 4), np.nan)),
        ValueError,
        "weights[0][0] (W) contains NaN or infinity",
    ),
    (
        "b inf",
        _with(_W, 1, 1, np.array([np.inf])),
        ValueError,
        "weights[1][1] (b) contains NaN or infinity",
    ),
    (
        "W strings",
        _with(_W, 0, 0, _W[0][0].astype(str)),
        TypeError,
        "weights[0][0] (W) must be numeric",
    ),
    (
        "W complex",
        _with(_W, 0, 0, _W[0][0] + 1j),
        TypeError,
        "weights[0][0] (W) must be real-valued",
    ),
    (
        "W ragged",
        _with(_W, 0, 0, [[1.0, 2.0], [3.0]]),
        ValueError,
        "weights[0][0] could not be read",
    ),
    ("empty", [], ValueError, "weights must contain at least one (W, b) pair"),
    (
        "triple",
        [(np.zeros((3, 1)), np.zeros(1), np.zeros(1))],
        TypeError,
        "weights[0] must be a (W, b) pair",
    ),
    ("bare array", [np.zeros((3, 1))], TypeError, "weights[0] must be a (W, b) pair"),
    ("not a sequence", 5, TypeError, "weights must be a sequence of (W, b) pairs"),
]


@pytest.mark.parametrize(
    ("weights", "exc", "fragment"), [c[1:] for c in BAD_WEIGHTS], ids=[c[0] for c in BAD_WEIGHTS]
)
def test_bad_from_weights(backend, weights, exc, fragment):
    raises(exc, fragment, Network.from_weights, weights, backend=backend)


def test_from_weights_bad_dtype_loss_backend(backend):
    raises(
        TypeError,
        "dtype must be np.float32 or np.float64",
        Network.from_weights,
        _W,
        dtype="nope",
        backend=backend,
    )
    raises(ValueError, "unknown loss 'l2'", Network.from_weights, _W, loss="l2", backend=backend)
    raises(ValueError, "backend must be one of", Network.from_weights, _W, backend="gpu")


def test_from_weights_converts_mixed_dtypes_when_dtype_is_given(backend):
    mixed = _with(_W, 1, 1, np.zeros(1, np.float32))
    net = Network.from_weights(mixed, dtype=np.float32, backend=backend)
    assert all(W.dtype == np.float32 and b.dtype == np.float32 for W, b in net.weights)
    np.testing.assert_array_equal(net.weights[0][0], _W[0][0].astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_from_weights_infers_the_dtype_whatever_the_byte_order(backend, dtype):
    native = _w((3, 4), (4, 1), dtype=dtype)
    swapped = [(W.astype(W.dtype.newbyteorder(">")), b) for W, b in native]  # b stays native
    net = Network.from_weights(swapped, backend=backend)
    assert net.dtype == np.dtype(dtype)
    for (W, b), (W0, b0) in zip(net.weights, native, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
        assert W.dtype == np.dtype(dtype) and W.dtype.isnative


# --------------------------------------------------------------------------- fit parameters
BAD_FIT = [
    ({"lr": 0.0}, ValueError, "lr must be > 0, got 0.0"),
    ({"lr": -0.1}, ValueError, "lr must be > 0, got -0.1"),
    ({"lr": np.nan}, ValueError, "lr must be finite, got nan"),
    ({"lr": np.inf}, ValueError, "lr must be finite, got inf"),
    ({"lr": "0.1"}, TypeError, "lr must be a real number, got str"),
    ({"lr": None}, TypeError, "lr must be a real number, got NoneType"),
    ({"lr": True}, TypeError, "lr must be a real number, got bool"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"epochs": -3}, ValueError, "epochs must be >= 1, got -3"),
    ({"epochs": 2.5}, TypeError, "epochs must be an integer, got float 2.5"),
    ({"epochs": 10.0}, TypeError, "epochs must be an integer, got float 10.0"),
    ({"epochs": True}, TypeError, "epochs must be an integer, got bool"),
    ({"epochs": "10"}, TypeError, "epochs must be an integer, got str"),
    ({"tol": -1e-3}, ValueError, "tol must be >= 0, got -0.001"),
    ({"tol": np.nan}, ValueError, "tol must be finite, got nan"),
    ({"tol": np.inf}, ValueError, "tol must be finite, got inf"),
    ({"tol": "small"}, TypeError, "tol must be a real number, got str"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1, got 0"),
    ({"n_iter_no_change": 1.5}, TypeError, "n_iter_no_change must be an integer or np.inf"),
    ({"n_iter_no_change": 10.0}, TypeError, "n_iter_no_change must be an integer or np.inf"),
    ({"n_iter_no_change": -np.inf}, TypeError, "must be an integer or np.inf, got float -inf"),
    ({"n_iter_no_change": np.nan}, TypeError, "must be an integer or np.inf, got float nan"),
    ({"n_iter_no_change": True}, TypeError, "n_iter_no_change must be an integer, got bool"),
    ({"callback": 5}, TypeError, "callback must be callable, got int"),
    ({"progress": "yes"}, TypeError, "progress must be True or False, got str 'yes'"),
    ({"block_epochs": 0}, ValueError, "block_epochs must be >= 1, got 0"),
]


@pytest.mark.parametrize(("kwargs", "exc", "fragment"), BAD_FIT, ids=[str(c[0]) for c in BAD_FIT])
def test_bad_fit_parameters_leave_the_network_untouched(backend, kwargs, exc, fragment):
    net = Network(LAYERS, backend=backend).fit(_X, _y, epochs=3)
    before, history = net.weights, net.history_.copy()
    raises(exc, fragment, net.fit, _X, _y, **kwargs)
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(net.history_, history)
    assert net.n_epochs_ == 3


@pytest.mark.parametrize(
    ("lr", "fragment"),
    [(1e39, "lr=1e+39 is too large for float32"), (1e-50, "lr=1e-50 is too small for float32")],
)
def test_lr_must_be_representable_in_the_dtype(backend, lr, fragment):
    raises(
        ValueError, fragment, Network(LAYERS, dtype=np.float32, backend=backend).fit, _X, _y, lr=lr
    )
    Network(LAYERS, dtype=np.float64, backend=backend).fit(_X, _y, lr=lr, epochs=1, tol=None)


def test_numpy_scalars_are_accepted_as_parameters(backend):
    net = Network(LAYERS, seed=np.int64(2), backend=backend)
    net.fit(
        _X,
        _y,
        lr=np.float32(0.25),
        epochs=np.int32(3),
        tol=np.float64(0.0),
        progress=np.bool_(False),
    )
    assert net.n_epochs_ == 3


# --------------------------------------------------------------------------- accepted inputs
def _variants(A):
    """``A`` in other memory layouts and byte orders, each equal to ``A`` element by element."""
    wide = np.zeros((A.shape[0] * 2,) + A.shape[1:], A.dtype)
    wide[::2] = A
    readonly = A.copy()
    readonly.flags.writeable = False
    strided = np.repeat(A, 2, axis=-1)[..., ::2] if A.ndim == 2 else np.repeat(A, 2)[::2]
    return {
        "fortran": np.asfortranarray(A),
        "sliced rows": wide[::2],
        "strided columns": strided,
        "read-only": readonly,
        "big-endian": A.astype(A.dtype.newbyteorder(">")),
        "list": A.tolist(),
    }


def _results(net_factory, X, y):
    """Every entry point's output, training last (it changes the weights)."""
    net = net_factory()
    out = {
        "predict_proba": net.predict_proba(X),
        "predict": net.predict(X),
        "loss": net.loss(X, y),
        "score": net.score(X, y),
    }
    for i, (dW, db) in enumerate(net.gradients(X, y)):
        out[f"dW{i}"], out[f"db{i}"] = dW, db
    net.fit(X, y, epochs=5, tol=None)
    out["history"] = net.history_
    for i, (W, b) in enumerate(net.weights):
        out[f"W{i}"], out[f"b{i}"] = W, b
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", list(_variants(np.ones((2, 2)))))
def test_layouts_and_byte_orders_give_the_contiguous_results(monkeypatch, backend, dtype, variant):
    monkeypatch.setattr(_engine, "ROWS_BLAS", 64)
    X, y = data(n=70, d=3, k=2, seed=4)  # 70 rows: two row blocks of the numba backend
    weights = _w((3, 5), (5, 2))

    def factory(w=weights):
        return Network.from_weights(w, loss="log", dtype=dtype, backend=backend)

    expected = _results(factory, X, y)
    Xv, yv = _variants(X)[variant], _variants(y)[variant]
    wv = [(_variants(W)[variant], _variants(b)[variant]) for W, b in weights]
    got = _results(lambda: factory(wv), Xv, yv)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_integers_booleans_and_object_numbers_are_converted(backend):
    rng = np.random.default_rng(5)
    X_int = rng.integers(-3, 4, size=(20, 3))
    y_bool = rng.random(20) < 0.5
    net = Network(LAYERS, "log", backend=backend)
    as_float = net.loss(X_int.astype(np.float64), y_bool.astype(np.float64))
    assert net.loss(X_int, y_bool) == as_float
    assert net.loss(X_int.astype(np.uint8) + 3, y_bool) == net.loss(X_int + 3.0, y_bool + 0.0)
    X_obj = np.array([[Fraction(1, 2), 2, np.float32(0.25)]] * 4, dtype=object)
    np.testing.assert_array_equal(
        net.predict_proba(X_obj), net.predict_proba(np.array([[0.5, 2.0, 0.25]] * 4))
    )


def _digest(a):
    a = np.asarray(a)
    return (
        hashlib.sha256(a.tobytes()).hexdigest(),
        a.dtype.str,
        a.shape,
        a.strides,
        a.flags.writeable,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", ["plain", "fortran", "read-only", "big-endian"])
def test_caller_arrays_are_never_modified(backend, dtype, variant):
    X, y = data(n=70, d=3, k=2, seed=6, dtype=dtype)
    weights = _w((3, 5), (5, 2), dtype=dtype)
    if variant != "plain":  # "plain" arrays (C-ordered, the net's dtype) may be used uncopied
        X, y = _variants(X)[variant], _variants(y)[variant]
        weights = [(_variants(W)[variant], _variants(b)[variant]) for W, b in weights]
    arrays = [X, y] + [a for pair in weights for a in pair]
    before = [_digest(a) for a in arrays]
    net = Network.from_weights(weights, loss="log", dtype=dtype, backend=backend)
    for call in CALLS.values():
        call(net, X, y)
    net.fit(X, y, lr=5.0, epochs=20, tol=None, callback=lambda *_: None, block_epochs=7)
    assert [_digest(a) for a in arrays] == before


def test_a_network_always_has_weights(backend):
    # ``predict`` before training is legitimate: the constructor draws the initial weights.
    p = Network(LAYERS, backend=backend).predict_proba(_X)
    assert p.shape == (N,) and np.all((p > 0) & (p < 1))
