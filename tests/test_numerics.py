"""Numerical safety: extreme logits stay finite and silent, divergence keeps the last finite
weights, and training is bit-for-bit deterministic."""

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import DTYPES, LOSSES, make_data

from fastnet import DivergedError, Network

#: Logit magnitudes the issue asks to survive: far beyond where exp(-z) overflows.
EXTREME = {np.float64: 1e4, np.float32: 1e3}


@contextmanager
def strict():
    """Every warning is an error, and so is any overflow, invalid operation or division by
    zero in NumPy. Underflow stays allowed: ``exp(-1e4)`` *is* 0, and rounding it there is
    the correct result, not an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


def saturating_network(dtype, loss, backend, sign):
    """A (3, 2, 1) network whose hidden *and* output logits are all ``sign * EXTREME[dtype]``
    on the rows of ``X = ones``: the hidden layer's weights sum to the logit, the output layer
    has zero weights and a bias of the logit."""
    L = EXTREME[dtype]
    W1 = np.full((3, 2), sign * L / 4)  # with X = 1: hidden logits 3L/4 + L/4 = L
    b1 = np.full(2, sign * L / 4)
    W2 = np.zeros((2, 1))
    b2 = np.array([sign * L])
    return Network.from_weights([(W1, b1), (W2, b2)], loss=loss, dtype=dtype, backend=backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sign", [+1, -1])
def test_extreme_logits_give_finite_silent_results(backend, dtype, loss, sign):
    L = EXTREME[dtype]
    X = np.ones((4, 3), dtype)
    y = np.array([0, 1, 0, 1], dtype)
    net = saturating_network(dtype, loss, backend, sign)
    with strict():
        P = net.predict_proba(X)
        J = net.loss(X, y)
        grads = net.gradients(X, y)
        net.fit(X, y, lr=1e-3, epochs=3, tol=None)
    # The sigmoid saturates: to exactly 1, or to 0 up to the smallest normal number (a
    # vectorised exp may clamp its argument there). Every row is predicted the same way, and
    # half of the four labels disagree with it.
    tiny = np.finfo(dtype).tiny
    if sign > 0:
        np.testing.assert_array_equal(P, np.ones(4, dtype))
    else:
        assert np.all((P >= 0) & (P <= tiny))
    if loss == "log":
        # From the logits: a wrong row costs |z| = L (no clipping at -log(eps) ~ 36), a right
        # one log1p(exp(-L)) = 0. Mean over 4 rows: 2L / 4.
        assert J == pytest.approx(L / 2, rel=1e-6)
        # dJ/dz = (p - y) / n, non-zero on the wrong rows: db2 = sum = (2 * sign) / 4
        np.testing.assert_allclose(grads[1][1], [sign * 0.5], rtol=1e-6)
    else:
        assert J == 0.5  # (p - y)^2 = 1 on two rows of four
        # σ'(z) = p (1 - p) is 0 at saturation (up to tiny): the mse gradient vanishes.
        for dW, db in grads:
            assert np.all(np.abs(dW) <= 4 * tiny) and np.all(np.abs(db) <= 4 * tiny)
    for dW, db in grads:
        assert np.isfinite(dW).all() and np.isfinite(db).all()
    assert np.isfinite(net.history_).all() and net.n_epochs_ == 3
    assert all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in net.weights)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_mixed_extreme_logits_on_random_data(backend, dtype, loss):
    # Logits spread over [-L, L] row by row, for data with both labels: still finite, silent.
    L = EXTREME[dtype]
    X, y = make_data((5, 4, 2), n=200, dtype=dtype)
    rng = np.random.default_rng(3)
    W1 = rng.standard_normal((5, 4)) * L / 3
    W2 = rng.standard_normal((4, 2)) * L / 2
    net = Network.from_weights([(W1, np.zeros(4)), (W2, np.zeros(2))], loss, dtype, backend)
    with strict():
        P = net.predict_proba(X)
        J = net.loss(X, y)
        grads = net.gradients(X, y)
        net.fit(X, y, lr=1e-4, epochs=3, tol=None)
    assert np.all((P >= 0) & (P <= 1))
    assert np.isfinite(J) and J > 0
    assert all(np.isfinite(dW).all() and np.isfinite(db).all() for dW, db in grads)
    assert np.isfinite(net.history_).all()


# --------------------------------------------------------------------------- divergence
# (layers, dtype, loss, scale of X, lr): settings where one update of a learning rate far too
# large makes the loss or a weight overflow. X is scaled up and the first layer's weights
# down by the same factor, so training starts from ordinary logits.
DIVERGING = [
    ((3, 1), np.float64, "mse", 1e150, 1e300),
    ((3, 1), np.float64, "log", 1e100, 1e150),
    ((3, 2, 1), np.float64, "mse", 1e100, 1e250),
    ((3, 2, 1), np.float64, "log", 1e100, 1e250),
    ((3, 1), np.float32, "mse", 1e5, 1e35),
    ((3, 1), np.float32, "log", 1e10, 1e20),
    ((3, 2, 1), np.float32, "mse", 1e10, 1e35),
    ((3, 2, 1), np.float32, "log", 1e10, 1e35),
]


def diverging_setup(layers, dtype, loss, scale, backend):
    X, y = make_data(layers, n=40, dtype=np.float64)
    rng = np.random.default_rng(1)
    weights = [
        (rng.standard_normal((fi, fo)) / (scale if i == 0 else 1), 0.1 * rng.standard_normal(fo))
        for i, (fi, fo) in enumerate(zip(layers[:-1], layers[1:], strict=False))
    ]
    net = Network.from_weights(weights, loss=loss, dtype=dtype, backend=backend)
    # A few ordinary epochs first (tiny steps for the scaled-up X), so that "the last finite
    # weights" are not simply the initial ones.
    X = (X * scale).astype(dtype)
    net.fit(X, y, lr=1e-3 / scale**2, epochs=5, tol=None)
    return net, X, y


def replay(net, X, y, lr):
    """Train a copy one epoch per call; the weights before the first failing call, and the
    losses recorded until then."""
    losses = []
    for _ in range(50):
        before = net.weights
        try:
            net.fit(X, y, lr=lr, epochs=1, tol=None)
        except DivergedError:
            return before, losses + list(net.history_)
        losses.append(net.history_[0])
    raise AssertionError("the replay did not diverge")


@pytest.mark.parametrize("how", ["one call", "blocks with a callback"])
@pytest.mark.parametrize(("layers", "dtype", "loss", "scale", "lr"), DIVERGING)
def test_divergence_raises_and_keeps_the_last_finite_weights(
    backend, how, layers, dtype, loss, scale, lr
):
    net, X, y = diverging_setup(layers, dtype, loss, scale, backend)
    twin, _, _ = diverging_setup(layers, dtype, loss, scale, backend)
    expected_weights, expected_losses = replay(twin, X, y, lr)
    calls = []
    kwargs = (
        {"callback": lambda *a: calls.append(a), "block_epochs": 1} if how != "one call" else {}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DivergedError, match=r"training diverged after \d+ epochs") as info:
            net.fit(X, y, lr=lr, epochs=100, tol=1e-4, **kwargs)
    assert "try a smaller lr" in str(info.value) and isinstance(info.value, FloatingPointError)
    for (W, b), (W0, b0) in zip(net.weights, expected_weights, strict=True):
        assert np.isfinite(W).all() and np.isfinite(b).all()
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert net.history_.dtype == dtype and np.isfinite(net.history_).all()
    np.testing.assert_array_equal(net.history_, np.array(expected_losses, dtype))
    assert net.n_epochs_ == len(net.history_) and not net.converged_
    assert_no_nan_predictions(net, X, y)


def assert_no_nan_predictions(net, X, y):
    """Outputs are finite and in [0, 1], or an error: never NaN (``predict`` would call it 0)."""
    with np.errstate(all="ignore"):
        try:
            P = net.predict_proba(X)
        except FloatingPointError as exc:
            assert "outputs contain NaN" in str(exc)
            with pytest.raises(FloatingPointError, match="outputs contain NaN"):
                net.predict(X)
            with pytest.raises(FloatingPointError, match="outputs contain NaN"):
                net.score(X, y)
        else:
            assert np.isfinite(P).all() and np.all((P >= 0) & (P <= 1))


def test_overflowing_logits_never_give_nan_predictions(backend):
    # Finite weights and inputs whose products overflow with opposite signs. Evaluated one
    # product at a time that is inf - inf = NaN (the numba kernels); a BLAS that fuses the
    # multiply-add gets inf instead (often NumPy's). Either way no NaN may come out. (X stays
    # below sqrt(finfo.max), the largest input check_X accepts: the weights are the huge ones.)
    W = np.array([[1e300], [-1e300]])
    net = Network.from_weights([(W, np.zeros(1))], backend=backend)
    X = np.array([[1e100, 1e100], [1.0, 1.0]])
    assert_no_nan_predictions(net, X, np.array([0, 1]))
    np.testing.assert_array_equal(net.predict_proba(X[1:]), [0.5])  # the sane row alone is fine


def test_nan_outputs_are_an_error_in_every_prediction(backend, monkeypatch):
    X, y = make_data((3, 2, 1), n=5)
    net = Network((3, 2, 1), backend=backend)
    monkeypatch.setattr(net, "_output", lambda Xc: np.full((Xc.shape[0], 1), np.nan))
    for call in (net.predict_proba, net.predict):
        with pytest.raises(FloatingPointError, match="outputs contain NaN: a layer's logits"):
            call(X)
    with pytest.raises(FloatingPointError, match="overflowed float64"):
        net.score(X, y)


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_same_seed_and_data_give_bit_identical_runs(backend, dtype, loss):
    X, y = make_data((6, 5, 4, 2), n=300, dtype=dtype)

    def run():
        net = Network((6, 5, 4, 2), loss=loss, dtype=dtype, seed=11, backend=backend)
        return net.fit(X, y, lr=0.5, epochs=60, tol=1e-6)

    a, b = run(), run()
    assert a.n_epochs_ == b.n_epochs_
    np.testing.assert_array_equal(a.history_, b.history_)
    for (Wa, ba), (Wb, bb) in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    # and a different seed really is a different run (the comparison above can fail)
    c = Network((6, 5, 4, 2), loss=loss, dtype=dtype, seed=12, backend=backend)
    assert not np.array_equal(c.fit(X, y, lr=0.5, epochs=60, tol=1e-6).history_, a.history_)


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_log_loss_per_output_is_within_a_few_ulps_of_the_exact_value(label):
    """The compiled log loss computes ``log1p(exp(-|z|))`` with its own vectorisable exp and
    log; each output's loss is checked against the formula in 80-bit long double, from logits
    where the loss is about 1e-300 to where it is about 700."""
    from fastnet.losses import log_loss

    a = np.concatenate([np.logspace(-12, np.log10(700.0), 2000), np.linspace(0.0, 40.0, 2001)])
    z = np.concatenate([a, -a])
    y = np.full_like(z, label)
    p = 1 / (1 + np.exp(-z))
    zl = z.astype(np.longdouble)
    exact = np.maximum(zl, 0) - label * zl + np.log1p(np.exp(-np.abs(zl)))
    got = np.array([log_loss(z[i : i + 1], p[i : i + 1], y[i : i + 1], np.empty(1)) for i in
                    range(z.size)])  # fmt: skip
    nearest = exact.astype(np.float64)
    ulps = np.abs(got - nearest) / np.spacing(np.abs(nearest))
    assert ulps.max() <= 4, (ulps.max(), z[ulps.argmax()])
    # and the delta it writes is p - y
    delta = np.empty_like(z)
    log_loss(z, p, y, delta)
    np.testing.assert_array_equal(delta, p - y)
