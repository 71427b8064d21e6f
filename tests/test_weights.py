"""Sample weights and scikit-learn's L2 penalty ``alpha`` on ``Network`` (issue 13, items 2 and
4): finite differences, the NumPy baseline, scikit-learn's own trajectory, and "a row of weight 0
is a row that is not there"."""

import warnings

import numpy as np
import pytest
from conftest import DTYPES, make_data, random_weights, sklearn_mlp_from
from sklearn.exceptions import ConvergenceWarning
from test_witnesses import finite_difference_gradients

import fastnet
from fastnet import Network, _jit
from fastnet.warmup import loss_output_pairs, small_targets

PAIRS = loss_output_pairs()


def _layers(output):
    return (4, 5, 3) if output == "softmax" else (4, 5, 1)


def _data(output, n=41, seed=0, dtype=np.float64):
    layers = _layers(output)
    X, _ = make_data(layers, n=n, seed=seed, dtype=dtype)
    y = small_targets(X, output)
    if output == "linear":
        y = 3.0 * X[:, 0] - X[:, 1] ** 2 + 0.5
    w = np.random.default_rng(seed + 1).uniform(0.0, 3.0, n).astype(dtype)
    return layers, X, y.astype(dtype), w


def _net(weights, loss, output, backend="numba", dtype=None):
    return Network.from_weights(weights, loss=loss, output=output, backend=backend, dtype=dtype)


# ---------------------------------------------------------------------- finite differences
@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_weighted_penalised_gradients_match_finite_differences(loss, output, backend):
    layers, X, y, w = _data(output)
    weights = random_weights(layers)

    class Penalised:  # ``net.loss`` with the weights and penalty, for the differences
        def __init__(self, wts):
            self.net = _net(wts, loss, output, backend)

        def loss(self, X, y):
            return self.net.loss(X, y, sample_weight=w, alpha=0.7)

    analytic = _net(weights, loss, output, backend).gradients(X, y, sample_weight=w, alpha=0.7)
    numeric = finite_difference_gradients(Penalised, weights, X, y)
    for (dW, db), (nW, nb) in zip(analytic, numeric, strict=True):
        scale = max(np.abs(nW).max(), np.abs(nb).max())
        assert np.abs(dW - nW).max() / scale <= 1e-6
        assert np.abs(db - nb).max() / scale <= 1e-6


def test_the_penalty_is_scikit_learns_formula_worked_by_hand():
    layers, X, y, w = _data("sigmoid")
    weights = random_weights(layers)
    net = _net(weights, "log", "sigmoid")
    squares = sum(float(np.sum(W**2)) for W, _ in weights)  # biases excluded
    plain = net.loss(X, y)
    assert net.loss(X, y, alpha=0.3) == pytest.approx(plain + 0.3 / (2 * len(y)) * squares,
                                                      rel=1e-14)  # fmt: skip
    weighted = net.loss(X, y, sample_weight=w)
    assert net.loss(X, y, sample_weight=w, alpha=0.3) == pytest.approx(
        weighted + 0.3 / (2 * w.sum()) * squares, rel=1e-14
    )
    (dW, db), _ = net.gradients(X, y, alpha=0.3)
    (pW, pb), _ = net.gradients(X, y)
    np.testing.assert_allclose(dW - pW, 0.3 / len(y) * weights[0][0], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(db, pb)  # no penalty on the biases


def test_weights_are_a_weighted_mean_of_row_losses():
    layers, X, y, w = _data("sigmoid")
    net = _net(random_weights(layers), "log", "sigmoid")
    rows = np.array([net.loss(X[i : i + 1], y[i : i + 1]) for i in range(len(y))])
    assert net.loss(X, y, sample_weight=w) == pytest.approx(np.dot(rows, w) / w.sum(), rel=1e-13)
    # all-equal weights are no weights (any positive constant)
    assert net.loss(X, y, sample_weight=np.full(len(y), 2.5)) == pytest.approx(
        net.loss(X, y), rel=1e-14
    )


# ---------------------------------------------------------------------- the NumPy baseline
@pytest.mark.parametrize(("loss", "output"), PAIRS)
@pytest.mark.parametrize("optimizer", ["gd", "adam", "lbfgs"])
def test_weighted_penalised_training_equals_the_numpy_baseline(loss, output, optimizer):
    layers, X, y, w = _data(output, n=300, seed=4)
    weights = random_weights(layers, scale=0.5)
    kw = dict(optimizer=optimizer, epochs=200 if optimizer != "lbfgs" else 30, tol=None,
              sample_weight=w, alpha=0.05)  # fmt: skip
    if optimizer == "gd":
        kw["lr"] = 0.1
    fast = _net(weights, loss, output).fit(X, y, **kw)
    ref = _net(weights, loss, output, backend="numpy").fit(X, y, **kw)
    assert fast.n_epochs_ == ref.n_epochs_
    np.testing.assert_allclose(fast.history_, ref.history_, rtol=1e-10)
    for (W, b), (Wr, br) in zip(fast.weights, ref.weights, strict=True):
        np.testing.assert_allclose(W, Wr, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, br, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- scikit-learn's trajectory
def _sklearn_trajectory(weights, X, y, epochs, sample_weight, regressor=False, **solver):
    sk = sklearn_mlp_from(weights, X, y, regressor=regressor, **solver)
    sk.set_params(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, warm_start=True)
    sk.loss_curve_, sk.best_loss_, sk._no_improvement_count = [], np.inf, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y, sample_weight=sample_weight)
    return sk


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("layers", "solver"),
    [((4, 5, 1), dict(solver="sgd", momentum=0.0, learning_rate_init=0.5)),
     ((4, 5, 3), dict(solver="sgd", momentum=0.9, nesterovs_momentum=True,
                      learning_rate_init=0.1)),
     ((4, 6, 5, 1), dict(solver="adam", learning_rate_init=0.01))],
)  # fmt: skip
def test_alpha_and_sample_weight_follow_scikit_learns_trajectory(layers, solver, weighted):
    output = "softmax" if layers[-1] > 1 else "sigmoid"
    _, X, y, w = _data(output, n=60, seed=2)
    labels = y.argmax(axis=1) if output == "softmax" else y
    weights = random_weights(layers, scale=0.7)
    sw = w if weighted else None
    sk = _sklearn_trajectory(weights, X, labels, 50, sw, alpha=0.2, **solver)
    if solver["solver"] == "adam":
        opt = fastnet.optim.Adam(lr=solver["learning_rate_init"])
    elif solver["momentum"]:
        opt = fastnet.optim.Momentum(lr=0.1, momentum=0.9, nesterov=True)
    else:
        opt = fastnet.optim.GD(lr=0.5)
    loss = "cross_entropy" if output == "softmax" else "log"
    net = _net(weights, loss, output).fit(X, labels, optimizer=opt, epochs=50, tol=None,
                                          sample_weight=sw, alpha=0.2)  # fmt: skip
    np.testing.assert_allclose(net.history_, sk.loss_curve_, rtol=1e-10)
    for (W, b), Wk, bk in zip(net.weights, sk.coefs_, sk.intercepts_, strict=True):
        np.testing.assert_allclose(W, Wk, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, bk, rtol=1e-10, atol=1e-12)


def test_regression_with_alpha_and_weights_follows_mlp_regressor():
    # MLPRegressor differentiates half our squared error, penalty included: at alpha/2 and
    # twice the step it follows our trajectory, and its loss_curve_ is half our history_.
    layers, X, y, w = _data("linear", n=50, seed=3)
    weights = random_weights(layers, scale=0.5)
    sk = _sklearn_trajectory(weights, X, y, 40, w, regressor=True, alpha=0.1, solver="sgd",
                             momentum=0.0, learning_rate_init=0.02)  # fmt: skip
    net = _net(weights, "mse", "linear").fit(X, y, lr=0.01, epochs=40, tol=None,
                                             sample_weight=w, alpha=0.2)  # fmt: skip
    np.testing.assert_allclose(net.history_, 2 * np.asarray(sk.loss_curve_), rtol=1e-10)
    for (W, b), Wk, bk in zip(net.weights, sk.coefs_, sk.intercepts_, strict=True):
        np.testing.assert_allclose(W, Wk, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, bk, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- weight 0 = no row
@pytest.mark.parametrize(("loss", "output"), PAIRS)
@pytest.mark.parametrize("optimizer", ["gd", "rprop", "lbfgs"])
def test_a_zero_weight_is_the_same_as_dropping_the_row(loss, output, optimizer):
    layers, X, y, w = _data(output, n=1500, seed=5)  # several chunks and blocks
    w[::3] = 0.0
    keep = w > 0
    weights = random_weights(layers, scale=0.5)
    kw = dict(optimizer=optimizer, epochs=40 if optimizer != "lbfgs" else 15, tol=None,
              alpha=0.01)  # fmt: skip
    full = _net(weights, loss, output).fit(X, y, sample_weight=w, **kw)
    dropped = _net(weights, loss, output).fit(X[keep], y[keep], sample_weight=w[keep], **kw)
    np.testing.assert_allclose(full.history_, dropped.history_, rtol=1e-12)
    for (W, b), (Wd, bd) in zip(full.weights, dropped.weights, strict=True):
        np.testing.assert_allclose(W, Wd, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(b, bd, rtol=1e-10, atol=1e-13)


def test_integer_weights_are_repeated_rows():
    layers, X, y, _ = _data("sigmoid", n=80, seed=6)
    counts = np.random.default_rng(0).integers(1, 4, len(y))
    weights = random_weights(layers)
    a = _net(weights, "log", "sigmoid").fit(X, y, sample_weight=counts, epochs=30, tol=None)
    b = _net(weights, "log", "sigmoid").fit(np.repeat(X, counts, axis=0),
                                            np.repeat(y, counts), epochs=30, tol=None)  # fmt: skip
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_weights_and_penalty_keep_the_dtype(dtype):
    layers, X, y, w = _data("sigmoid", dtype=dtype)
    net = Network(layers, loss="log", dtype=dtype).fit(X, y, sample_weight=w.astype(np.float64),
                                                       alpha=0.1, epochs=20)  # fmt: skip
    assert net.history_.dtype == dtype and net.weights[0][0].dtype == dtype
    ref = Network(layers, loss="log", dtype=dtype, backend="numpy").fit(
        X, y, sample_weight=w, alpha=0.1, epochs=20
    )
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(net.history_, ref.history_, rtol=rtol)


def test_the_callers_weights_are_not_modified():
    layers, X, y, w = _data("sigmoid")
    before = w.copy()
    Network(layers, loss="log").fit(X, y, sample_weight=w, epochs=5)
    np.testing.assert_array_equal(w, before)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("sample_weight", "error", "fragment"),
    [
        (-np.ones(41), ValueError, "sample_weight must be non-negative"),
        (np.r_[np.nan, np.ones(40)], ValueError, "sample_weight contains NaN or infinity"),
        (np.r_[np.inf, np.ones(40)], ValueError, "sample_weight contains NaN or infinity"),
        (np.ones(40), ValueError, "sample_weight has 40 values but X has 41 samples"),
        (np.ones((41, 1)), ValueError, "sample_weight must be 1-D"),
        (np.zeros(41), ValueError, "sample_weight is all zero"),
        (np.array(["a"] * 41), TypeError, "sample_weight must be numeric"),
    ],
)
def test_bad_sample_weights_are_named_before_anything_compiles(sample_weight, error, fragment):
    layers, X, y, _ = _data("sigmoid")
    net = Network(layers, loss="log")
    before, compiled = net.weights, dict(_jit._ENTRY_POINTS)
    with pytest.raises(error, match=fragment):
        net.fit(X, y, sample_weight=sample_weight)
    with pytest.raises(error, match=fragment):
        net.loss(X, y, sample_weight=sample_weight)
    assert _jit._ENTRY_POINTS == compiled and net.n_epochs_ == 0
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


@pytest.mark.parametrize(
    ("alpha", "error", "fragment"),
    [(-0.1, ValueError, "alpha must be >= 0"), (np.inf, ValueError, "alpha must be finite"),
     ("0.1", TypeError, "alpha must be a real number")],
)  # fmt: skip
def test_bad_alpha_is_named(alpha, error, fragment):
    layers, X, y, _ = _data("sigmoid")
    with pytest.raises(error, match=fragment):
        Network(layers, loss="log").fit(X, y, alpha=alpha)


# ---------------------------------------------------------------------- a registered loss
@pytest.fixture
def focal_loss():
    from _focal import focal, focal_reference

    fastnet.register_loss("focal_w", focal, reference=focal_reference, needs_unit_targets=True)
    yield "focal_w"
    fastnet.unregister_loss("focal_w")


def test_a_registered_loss_is_weighted_row_by_row_as_the_baseline(focal_loss):
    # a registered loss has no weighted form: the kernels call it on each weighted row alone
    layers, X, y, w = _data("sigmoid", n=700, seed=7)
    weights = random_weights(layers, scale=0.5)
    kw = dict(epochs=60, tol=None, sample_weight=w, alpha=0.02)
    fast = _net(weights, focal_loss, "sigmoid").fit(X, y, **kw)
    ref = _net(weights, focal_loss, "sigmoid", backend="numpy").fit(X, y, **kw)
    np.testing.assert_allclose(fast.history_, ref.history_, rtol=1e-10)
    w0 = w.copy()
    w0[::4] = 0
    keep = w0 > 0
    a = _net(weights, focal_loss, "sigmoid").fit(X, y, epochs=20, tol=None, sample_weight=w0)
    b = _net(weights, focal_loss, "sigmoid").fit(X[keep], y[keep], epochs=20, tol=None,
                                                 sample_weight=w0[keep])  # fmt: skip
    np.testing.assert_allclose(a.history_, b.history_, rtol=1e-12)
