"""The three correctness witnesses of docs/design.md section 5, plus one step worked by hand."""

import numpy as np
import pytest
from conftest import (
    DTYPES,
    LOSSES,
    SHAPES,
    make_data,
    random_weights,
    sklearn_fit_from,
    sklearn_mlp_from,
)

from fastnet import Network, _engine


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))


# --------------------------------------------------------------------------- 1. finite differences
def finite_difference_gradients(net_factory, weights, X, y, h=1e-6):
    """Central differences of ``net.loss`` for every parameter (float64)."""
    grads = []
    for li, (W, b) in enumerate(weights):
        pair = []
        for pi, P in enumerate((W, b)):
            G = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                for sign in (+1, -1):
                    w = [(Wk.copy(), bk.copy()) for Wk, bk in weights]
                    w[li][pi][idx] += sign * h
                    G[idx] += sign * float(net_factory(w).loss(X, y))
                G[idx] /= 2 * h
            pair.append(G)
        grads.append(tuple(pair))
    return grads


@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_match_central_finite_differences(layers, loss, backend):
    X, y = make_data(layers)
    weights = random_weights(layers)

    def factory(w):
        return Network.from_weights(w, loss=loss, backend=backend)

    analytic = factory(weights).gradients(X, y)
    numeric = finite_difference_gradients(factory, weights, X, y)
    for (dW, db), (nW, nb) in zip(analytic, numeric, strict=True):
        # relative to the largest gradient entry of the layer, so near-zero entries are fair
        scale = max(np.abs(nW).max(), np.abs(nb).max())
        assert np.abs(dW - nW).max() / scale <= 1e-6
        assert np.abs(db - nb).max() / scale <= 1e-6


@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_float32_gradients_match_float64(layers, loss, backend):
    X, y = make_data(layers)
    weights = random_weights(layers)
    g64 = Network.from_weights(weights, loss=loss, backend=backend).gradients(X, y)
    w32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in weights]
    g32 = Network.from_weights(w32, loss=loss, backend=backend).gradients(X, y)
    for (a, b), (c, d) in zip(g32, g64, strict=True):
        assert a.dtype == b.dtype == np.float32
        scale = max(np.abs(c).max(), np.abs(d).max())
        assert np.abs(a - c).max() / scale < 1e-4
        assert np.abs(b - d).max() / scale < 1e-4


# --------------------------------------------------------------------------- 2. numpy baseline
@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_numba_trajectory_equals_numpy_baseline(monkeypatch, layers, loss, dtype):
    monkeypatch.setattr(_engine, "ROWS_BLAS", 64)
    X, y = make_data(layers, n=150, dtype=dtype)  # 3 blocks of at most 64 rows, 3 chunks
    weights = [(W.astype(dtype), b.astype(dtype)) for W, b in random_weights(layers, scale=0.5)]
    nets = [
        Network.from_weights(weights, loss=loss, backend=b).fit(X, y, lr=0.5, epochs=250, tol=None)
        for b in ("numba", "numpy")
    ]
    tol = 1e-10 if dtype == np.float64 else 1e-4
    fast, ref = nets
    assert fast.history_.dtype == ref.history_.dtype == dtype
    assert len(fast.history_) == len(ref.history_) == 250
    assert rel_err(fast.history_, ref.history_) <= tol
    for (W, b), (Wr, br) in zip(fast.weights, ref.weights, strict=True):
        assert W.dtype == b.dtype == dtype
        assert np.abs(W - Wr).max() / np.abs(Wr).max() <= tol
        assert np.abs(b - br).max() / max(np.abs(br).max(), np.abs(Wr).max()) <= tol


# --------------------------------------------------------------------------- 3. scikit-learn


@pytest.mark.parametrize("layers", SHAPES)
def test_log_loss_trajectory_equals_sklearn_mlp(layers, backend):
    X, y = make_data(layers, n=80)
    Y = y.astype(int)
    weights = random_weights(layers, scale=0.5)
    lr, epochs = 0.3, 30
    clf = sklearn_mlp_from(weights, X, Y, solver="sgd", momentum=0.0,
                           nesterovs_momentum=False, learning_rate_init=lr)  # fmt: skip
    sk_losses = []
    for _ in range(epochs):
        clf.partial_fit(X, Y)
        sk_losses.append(clf.loss_)
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, lr=lr, epochs=epochs, tol=None)
    assert rel_err(net.history_, sk_losses) <= 1e-10
    for (W, b), Wsk, bsk in zip(net.weights, clf.coefs_, clf.intercepts_, strict=True):
        assert rel_err(W, Wsk) <= 1e-10
        assert rel_err(b, bsk) <= 1e-10


# (layers, tol, n_iter_no_change); each case trains for a while before it stops (asserted)
STOPPING_CASES = [((6, 5, 2), 1e-3, 1), ((6, 5, 2), 1e-3, 5), ((5, 4, 3, 1), 1e-4, 10)]


@pytest.mark.parametrize(("layers", "tol", "n_iter_no_change"), STOPPING_CASES)
@pytest.mark.parametrize("solver", ["gd", "nesterov"])
def test_stopping_epoch_equals_sklearn_mlp(layers, tol, n_iter_no_change, solver, backend):
    """scikit-learn's stopping rule, ``tol`` and ``n_iter_no_change``, from the same weights:
    the same epoch count, the same loss curve."""
    X, y = make_data(layers, n=80)
    Y = y.astype(int)
    weights = random_weights(layers, scale=0.5)
    lr, momentum = (0.3, 0.0) if solver == "gd" else (0.05, 0.9)
    sgd = {"solver": "sgd", "momentum": momentum, "nesterovs_momentum": solver == "nesterov"}
    rule = {"tol": tol, "n_iter_no_change": n_iter_no_change}
    clf = sklearn_fit_from(weights, X, Y, max_iter=5000, learning_rate_init=lr, **rule, **sgd)
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer=solver, lr=lr, epochs=5000, **rule)
    assert net.converged_
    assert net.n_epochs_ == clf.n_iter_ == len(clf.loss_curve_) < 5000
    assert rel_err(net.history_, clf.loss_curve_) <= 1e-10
    assert net.n_epochs_ > n_iter_no_change + 1  # the loss improved by more than tol at first


def test_n_iter_no_change_inf_never_stops_by_tol_as_in_sklearn(backend):
    layers = (4, 3, 1)
    X, y = make_data(layers, n=80)
    weights = random_weights(layers, scale=0.5)
    # tol=1: no epoch improves by that much, so only n_iter_no_change=inf lets all 40 run
    clf = sklearn_fit_from(weights, X, y.astype(int), max_iter=40, tol=1.0,
                           n_iter_no_change=np.inf, solver="sgd", momentum=0.0,
                           learning_rate_init=0.3)  # fmt: skip
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, lr=0.3, epochs=40, tol=1.0, n_iter_no_change=np.inf)
    assert net.n_epochs_ == clf.n_iter_ == 40 and not net.converged_
    assert rel_err(net.history_, clf.loss_curve_) <= 1e-10
    # with n_iter_no_change=10 both stop once 11 epochs in a row failed: after 1 + 11 epochs
    clf = sklearn_fit_from(weights, X, y.astype(int), max_iter=40, tol=1.0, n_iter_no_change=10,
                           solver="sgd", momentum=0.0, learning_rate_init=0.3)  # fmt: skip
    stopped = Network.from_weights(weights, loss="log", backend=backend)
    stopped.fit(X, y, lr=0.3, epochs=40, tol=1.0, n_iter_no_change=10)
    assert stopped.converged_ and stopped.n_epochs_ == clf.n_iter_ == 12


# --------------------------------------------------------------------------- worked by hand
# A 2-2-1 network, x = [1, 2], y = 1, W1 = [[.1, .2], [.3, .4]], b1 = 0, W2 = [.5, .6]^T, b2 = 0.
#   z1 = x W1 = [1*.1 + 2*.3, 1*.2 + 2*.4] = [0.7, 1.0]
#   a1 = sigmoid(z1) = [0.6681877722, 0.7310585786]
#   z2 = .5 * 0.6681877722 + .6 * 0.7310585786 = 0.7727290333;  a2 = sigmoid(z2) = 0.6841109426
# mse: J = (a2 - y)^2 = (-0.3158890574)^2 = 0.0997858966
#   delta2 = 2 (a2 - y) a2 (1 - a2) = 2 * -0.3158890574 * 0.6841109426 * 0.3158890574
#          = -0.1365292476
#   dW2 = a1^T delta2 = [-0.0912271738, -0.0998108777],  db2 = -0.1365292476
#   delta1 = delta2 W2^T * a1 (1 - a1) = [-0.1365292476 * .5 * 0.2217..., ... * .6 * 0.1966...]
#          = [-0.0151351459, -0.0161059676]
#   dW1 = x^T delta1 = [[-0.0151351459, -0.0161059676], [-0.0302702918, -0.0322119352]]
#   with lr = 0.5: W2 -> [0.5456135869, 0.6499054388], b2 -> 0.0682646238,
#                  W1 -> [[0.1075675729, 0.2080529838], [0.3151351459, 0.4161059676]],
#                  b1 -> [0.0075675729, 0.0080529838]
# log: J = -log(a2) = 0.3796351778;  delta2 = a2 - y = -0.3158890574 (sigmoid' cancels)
#   dW2 = [-0.2110732055, -0.2309334053],  delta1 = [-0.0350183353, -0.0372645350]
HAND_WEIGHTS = [
    (np.array([[0.1, 0.2], [0.3, 0.4]]), np.zeros(2)),
    (np.array([[0.5], [0.6]]), np.zeros(1)),
]
HAND_X, HAND_Y = np.array([[1.0, 2.0]]), np.array([1.0])


def test_one_mse_step_worked_by_hand(backend):
    net = Network.from_weights(HAND_WEIGHTS, loss="mse", backend=backend)
    assert net.loss(HAND_X, HAND_Y) == pytest.approx(0.0997858966, abs=1e-10)
    (dW1, db1), (dW2, db2) = net.gradients(HAND_X, HAND_Y)
    np.testing.assert_allclose(dW2[:, 0], [-0.0912271738, -0.0998108777], atol=1e-10)
    np.testing.assert_allclose(db2, [-0.1365292476], atol=1e-10)
    np.testing.assert_allclose(db1, [-0.0151351459, -0.0161059676], atol=1e-10)
    np.testing.assert_allclose(
        dW1, [[-0.0151351459, -0.0161059676], [-0.0302702918, -0.0322119352]], atol=1e-10
    )
    net.fit(HAND_X, HAND_Y, lr=0.5, epochs=1, tol=None)
    assert net.history_[0] == pytest.approx(0.0997858966, abs=1e-10)
    (W1, b1), (W2, b2) = net.weights
    np.testing.assert_allclose(W2[:, 0], [0.5456135869, 0.6499054388], atol=1e-10)
    np.testing.assert_allclose(b2, [0.0682646238], atol=1e-10)
    np.testing.assert_allclose(W1, [[0.1075675729, 0.2080529838], [0.3151351459, 0.4161059676]],
                               atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(b1, [0.0075675729, 0.0080529838], atol=1e-10)


def test_one_log_loss_gradient_worked_by_hand(backend):
    net = Network.from_weights(HAND_WEIGHTS, loss="log", backend=backend)
    assert net.loss(HAND_X, HAND_Y) == pytest.approx(0.3796351778, abs=1e-10)
    (dW1, db1), (dW2, db2) = net.gradients(HAND_X, HAND_Y)
    np.testing.assert_allclose(db2, [-0.3158890574], atol=1e-10)
    np.testing.assert_allclose(dW2[:, 0], [-0.2110732055, -0.2309334053], atol=1e-10)
    np.testing.assert_allclose(db1, [-0.0350183353, -0.0372645350], atol=1e-10)


def test_notes_printed_mse_gradient_is_not_what_we_compute():
    """The notes multiply by z2 where sigmoid'(z2) belongs; we must not reproduce the slip."""
    net = Network.from_weights(HAND_WEIGHTS, loss="mse")
    (_, _), (dW2, _) = net.gradients(HAND_X, HAND_Y)
    a1 = np.array([0.6681877722, 0.7310585786])
    notes = a1 * 2 * (0.6841109426 - 1) * 0.7727290333  # a1^T 2 (a2 - y) z2
    assert not np.allclose(dW2[:, 0], notes, atol=1e-3)
