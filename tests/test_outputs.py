"""Output layers (issue 12): softmax + categorical cross-entropy, linear + mse / huber.

Witnesses: scikit-learn's MLPClassifier (sigmoid hidden layers + softmax + cross-entropy) and
MLPRegressor (sigmoid hidden layers + identity + squared error) from the same weights, finite
differences, and the NumPy baseline (which computes them independently).
"""

import warnings

import numpy as np
import pytest
from conftest import random_weights, sklearn_mlp_from

import fastnet
from fastnet import Network, _jit, optim
from fastnet.losses import LOSSES, OUTPUTS, get_loss

#: Every built-in (loss, output) pair, from the registry.
PAIRS = [(name, out) for name, by_output in LOSSES.items() for out in by_output]
NEW_PAIRS = [(name, out) for name, out in PAIRS if out != "sigmoid"]


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def weights_diff(w1, w2) -> float:
    return max(max(rel(W1, W2), rel(b1, b2)) for (W1, b1), (W2, b2) in zip(w1, w2, strict=True))


def targets(output, n, k, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    if output == "softmax":
        return rng.integers(0, k, n)
    if output == "linear":
        return (3 * rng.standard_normal((n, k)) + 10).astype(dtype)
    return (rng.random((n, k)) < 0.5).astype(dtype)


def data(layers, output, n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, layers[0])).astype(dtype)
    return X, targets(output, n, layers[-1], seed + 1, dtype)


# ---------------------------------------------------------------------- construction
def test_output_is_reported_and_defaults_to_sigmoid():
    assert Network((3, 2, 1)).output == "sigmoid"
    net = Network((3, 4, 3), loss="cross_entropy", output="softmax")
    assert net.output == "softmax" and net.loss_name == "cross_entropy"
    assert "output='softmax'" in repr(net)
    lin = Network.from_weights(random_weights((3, 4, 2)), loss="huber", output="linear")
    assert lin.output == "linear" and lin.loss_name == "huber"
    for alias in ("categorical_crossentropy", "softmax_cross_entropy", "CROSS_ENTROPY"):
        assert Network((3, 2), loss=alias, output="softmax").loss_name == "cross_entropy"


@pytest.mark.parametrize(
    ("loss", "output", "needs"),
    [
        ("cross_entropy", "sigmoid", "'softmax'"),
        ("log", "softmax", "'sigmoid'"),
        ("log", "linear", "'sigmoid'"),
        ("huber", "sigmoid", "'linear'"),
        ("mse", "softmax", "'sigmoid' or 'linear'"),
    ],
)
def test_a_wrong_pair_names_both_before_anything_compiles(loss, output, needs):
    compiled_before = dict(_jit._ENTRY_POINTS)
    with pytest.raises(ValueError) as info:
        Network((3, 4, 3), loss=loss, output=output)
    msg = str(info.value)
    assert repr(loss) in msg and repr(output) in msg and needs in msg
    with pytest.raises(ValueError, match="does not work with output="):
        Network.from_weights(random_weights((3, 4, 3)), loss=loss, output=output)
    assert _jit._ENTRY_POINTS == compiled_before


def test_bad_output_names_and_a_one_class_softmax_are_rejected():
    with pytest.raises(ValueError, match=r"output must be one of \('sigmoid', 'softmax'"):
        Network((3, 2), output="tanh")
    with pytest.raises(ValueError, match="output='softmax' needs at least 2 outputs"):
        Network((3, 4, 1), loss="cross_entropy", output="softmax")
    assert OUTPUTS == ("sigmoid", "softmax", "linear")


# ---------------------------------------------------------------------- softmax targets
def test_labels_and_one_hot_rows_give_the_same_loss(backend):
    layers = (4, 5, 3)
    X, labels = data(layers, "softmax")
    net = Network.from_weights(random_weights(layers), loss="cross_entropy", output="softmax",
                               backend=backend)  # fmt: skip
    one_hot = np.eye(3)[labels]
    assert net.loss(X, labels) == net.loss(X, one_hot)
    assert net.loss(X, labels.astype(float)) == net.loss(X, one_hot)
    # soft targets: the loss is linear in Y
    soft = 0.25 * one_hot + 0.75 * np.eye(3)[(labels + 1) % 3]
    expected = 0.25 * net.loss(X, labels) + 0.75 * net.loss(X, (labels + 1) % 3)
    assert net.loss(X, soft) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("y", "fragment"),
    [
        (np.array([0, 1, 3, 2]), "integers in 0..2 for this network's 3 softmax outputs; got 3.0"),
        (np.array([0, 1, -1, 2]), "integers in 0..2"),
        (np.array([0, 1.5, 1, 2]), "got 1.5"),
        (np.array([[1, 0, 0], [0, 1, 0], [0, 0.5, 0.4], [0, 0, 1]]), "row 2 sums to 0.9"),
        (np.array([[1, 0, 0], [0, 1, 0], [0, 1.5, -0.5], [0, 0, 1]]), "non-negative"),
        (np.ones((4, 2)), "probability rows of shape (n_samples, 3)"),
        (np.array([0, 1, 2]), "y has 3 samples but X has 4"),
        (np.array(["a", "b", "c", "a"]), "y must be numeric"),
    ],
)
def test_bad_class_targets_are_rejected_with_the_network_untouched(y, fragment):
    net = Network((2, 3, 3), loss="cross_entropy", output="softmax")
    before = net.weights
    X = np.zeros((4, 2))
    with pytest.raises((ValueError, TypeError)) as info:
        net.fit(X, y, epochs=3)
    assert fragment in str(info.value)
    assert weights_diff(net.weights, before) == 0 and net.n_epochs_ == 0


def test_probability_rows_may_be_off_by_rounding():
    net = Network((2, 3, 3), loss="cross_entropy", output="softmax")
    X = np.zeros((2, 2))
    rows = np.array([[0.3, 0.6, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    assert abs(rows.sum(axis=1) - 1).max() > 0  # (0.3 + 0.6 + 0.1 is not 1.0 exactly)
    net.loss(X, rows)
    net32 = Network((2, 3, 3), loss="cross_entropy", output="softmax", dtype=np.float32)
    net32.loss(X.astype(np.float32), rows.astype(np.float32))


def test_predict_is_the_arg_max_and_score_the_accuracy(backend):
    layers = (4, 6, 3)
    X, labels = data(layers, "softmax", n=60)
    net = Network.from_weights(random_weights(layers, scale=2.0), loss="cross_entropy",
                               output="softmax", backend=backend)  # fmt: skip
    P = net.predict_proba(X)
    assert P.shape == (60, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-14)
    # the textbook softmax of the logits, computed here in float64 from the weights
    A = X
    for i, (W, b) in enumerate(net.weights):
        Z = A @ W + b
        A = 1 / (1 + np.exp(-Z)) if i < len(net.weights) - 1 else Z
    E = np.exp(A - A.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, E / E.sum(axis=1, keepdims=True), rtol=1e-12)
    pred = net.predict(X)
    np.testing.assert_array_equal(pred, np.argmax(E, axis=1))
    assert pred.dtype == np.int64 and pred.shape == (60,)
    assert net.score(X, labels) == np.mean(np.argmax(E, axis=1) == labels)
    assert net.score(X, np.eye(3)[labels]) == net.score(X, labels)
    assert 0 < net.score(X, labels) < 1  # a test that can fail both ways
    logp = net.predict_log_proba(X)
    np.testing.assert_allclose(logp, np.log(P), rtol=1e-12)


# ---------------------------------------------------------------------- saturated logits
@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e4), (np.float32, 1e3)])
def test_huge_logits_give_finite_losses_and_gradients_without_warnings(backend, dtype, big):
    # a (2, 3) network without hidden layer: the logits are X @ W + b exactly
    W = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[big, 0.0], [-big, 0.0], [0.0, big], [big, -big]], dtype)
    y = np.array([1, 0, 2, 1])  # row 0, 1, 3: the wrong class wins by 2 big; row 2 right
    net = Network.from_weights([(W, np.zeros(3))], loss="cross_entropy", output="softmax",
                               dtype=dtype, backend=backend)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J, grads = net.loss_and_gradients(X, y)
        logp = net.predict_log_proba(X)
    assert np.isfinite(J) and all(np.isfinite(a).all() for pair in grads for a in pair)
    # -log p_y per row: 2 big, 2 big (up to log 2 and less), 0, 2 big (both +-big rows)
    expected = (2 * big + 2 * big + 0 + 2 * big) / 4
    assert J == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(logp).all() and logp.min() < -big


def test_saturated_sigmoid_log_proba_is_finite():
    net = Network.from_weights([(np.array([[1.0]]), np.zeros(1))], loss="log")
    X = np.array([[-1e4], [1e4], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logp = net.predict_log_proba(X)
    np.testing.assert_allclose(logp, [-1e4, 0.0, np.log(0.5)], rtol=1e-15)


# ---------------------------------------------------------------------- finite differences
@pytest.mark.parametrize(("loss", "output"), PAIRS)
@pytest.mark.parametrize("layers", [(3, 4, 3), (4, 3, 2, 2)])
def test_gradients_match_finite_differences(backend, loss, output, layers):
    X, y = data(layers, output, n=25)
    if output == "linear":
        y = (y - 10) / (5.0 if loss == "huber" else 1.0)  # huber: both sides of |r| = 1
    weights = random_weights(layers)
    net = Network.from_weights(weights, loss=loss, output=output, backend=backend)
    J, grads = net.loss_and_gradients(X, y)
    h = 1e-5
    tol = 1e-9 * max(1.0, abs(J))  # the rounding error of (J+ - J-) / 2h is ~ J eps / h
    for li, (W, b) in enumerate(weights):
        for arr_i, arr in enumerate((W, b)):
            for idx in np.ndindex(arr.shape):
                plus = [(w.copy(), c.copy()) for w, c in weights]
                minus = [(w.copy(), c.copy()) for w, c in weights]
                plus[li][arr_i][idx] += h
                minus[li][arr_i][idx] -= h
                jp = Network.from_weights(plus, loss=loss, output=output,
                                          backend=backend).loss(X, y)  # fmt: skip
                jm = Network.from_weights(minus, loss=loss, output=output,
                                          backend=backend).loss(X, y)  # fmt: skip
                fd = (jp - jm) / (2 * h)
                assert grads[li][arr_i][idx] == pytest.approx(fd, rel=1e-6, abs=tol)


# ---------------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("layers", [(4, 5, 3), (5, 6, 4, 4)])
def test_softmax_cross_entropy_follows_mlp_classifier(backend, layers):
    X, labels = data(layers, "softmax", n=50, seed=4)
    assert len(np.unique(labels)) == layers[-1]
    weights = random_weights(layers, scale=0.5)
    lr, epochs = 0.3, 200
    clf = sklearn_mlp_from(weights, X, labels, solver="sgd", learning_rate_init=lr, momentum=0.0)
    assert clf.out_activation_ == "softmax"
    sk_losses = []
    for _ in range(epochs):
        clf.partial_fit(X, labels)
        sk_losses.append(clf.loss_)
    net = Network.from_weights(weights, loss="cross_entropy", output="softmax", backend=backend)
    net.fit(X, labels, lr=lr, epochs=epochs, tol=None)
    assert rel(net.history_, sk_losses) <= 1e-10
    assert weights_diff(net.weights, list(zip(clf.coefs_, clf.intercepts_, strict=True))) <= 1e-10
    assert sk_losses[-1] < sk_losses[0] - 0.05  # it trained
    np.testing.assert_allclose(net.predict_proba(X), clf.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("layers", [(4, 5, 1), (5, 6, 4, 3)])
def test_linear_mse_follows_mlp_regressor(backend, layers):
    X, y = data(layers, "linear", n=50, seed=5)
    y = y - 10  # MLPRegressor starts nowhere near 10 either; keep the steps stable
    k = layers[-1]
    yk = y[:, 0] if k == 1 else y
    weights = random_weights(layers, scale=0.5)
    lr, epochs = 0.01, 200
    # scikit-learn's gradient is that of half our loss: at 2 lr it takes our steps
    reg = sklearn_mlp_from(weights, X, yk, regressor=True, solver="sgd",
                           learning_rate_init=2 * lr, momentum=0.0)  # fmt: skip
    assert reg.out_activation_ == "identity"
    sk_losses = []
    for _ in range(epochs):
        reg.partial_fit(X, yk)
        sk_losses.append(reg.loss_)
    net = Network.from_weights(weights, loss="mse", output="linear", backend=backend)
    net.fit(X, yk, lr=lr, epochs=epochs, tol=None)
    # its loss is half the mean over all n * k values; ours the mean over rows of the sums
    assert rel(net.history_, 2 * k * np.asarray(sk_losses)) <= 1e-10
    assert weights_diff(net.weights, list(zip(reg.coefs_, reg.intercepts_, strict=True))) <= 1e-10
    assert sk_losses[-1] < 0.95 * sk_losses[0]  # it trained (the targets are noise)
    np.testing.assert_allclose(net.predict(X), reg.predict(X), rtol=1e-10)
    r2 = reg.score(X, yk)
    assert net.score(X, yk) == pytest.approx(r2, rel=1e-10)


def test_linear_targets_need_no_scaling():
    X, y = data((3, 4, 1), "linear", n=30)
    y = 1000 * y[:, 0]  # far outside [0, 1]
    net = Network((3, 4, 1), loss="mse", output="linear").fit(X, y, lr=1e-7, epochs=3, tol=None)
    assert net.n_epochs_ == 3
    with pytest.raises(ValueError, match="y must lie in"):
        Network((3, 4, 1), loss="mse").fit(X, y, epochs=3)


# ---------------------------------------------------------------------- numba = numpy
@pytest.mark.parametrize(("loss", "output"), NEW_PAIRS)
@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_numba_matches_numpy_over_hundreds_of_epochs(loss, output, name):
    layers = (4, 6, 3)
    X, y = data(layers, output, n=45, seed=2)
    if output == "linear":
        y = (y - 10) / 3
    weights = random_weights(layers, scale=0.5)
    opt = optim.OPTIMIZERS[name]()
    if name in ("gd", "momentum", "nesterov"):
        opt = optim.OPTIMIZERS[name](lr=0.05)
    epochs = 40 if name == "lbfgs" else 300
    runs = []
    for backend in ("numba", "numpy"):
        net = Network.from_weights(weights, loss=loss, output=output, backend=backend)
        net.fit(X, y, optimizer=opt, epochs=epochs, tol=None)
        runs.append(net)
    a, b = runs
    assert a.n_epochs_ == b.n_epochs_ >= min(epochs, 20)
    assert rel(a.history_, b.history_) <= 1e-10
    assert weights_diff(a.weights, b.weights) <= 1e-10
    assert a.history_[-1] < a.history_[0]


@pytest.mark.parametrize(("loss", "output"), NEW_PAIRS)
def test_float32_follows_float64(loss, output):
    layers = (4, 6, 3)
    X, y = data(layers, output, n=45, seed=2)
    if output == "linear":
        y = (y - 10) / 3
    weights = random_weights(layers, scale=0.5)
    runs = []
    for dtype in (np.float64, np.float32):
        net = Network.from_weights(weights, loss=loss, output=output, dtype=dtype)
        Xd = X.astype(dtype)
        yd = y if output == "softmax" else y.astype(dtype)
        net.fit(Xd, yd, lr=0.05, epochs=100, tol=None)
        assert net.history_.dtype == dtype
        runs.append(net)
    assert rel(runs[1].history_, runs[0].history_) <= 1e-4
    assert runs[0].history_[-1] < runs[0].history_[0]


def test_a_two_class_softmax_trains_as_well_as_one_sigmoid():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    labels = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    soft = Network((4, 8, 2), loss="cross_entropy", output="softmax", seed=1)
    sig = Network((4, 8, 1), loss="log", seed=1)
    soft.fit(X, labels, lr=1.0, epochs=400, tol=None)
    sig.fit(X, labels, lr=1.0, epochs=400, tol=None)
    assert soft.score(X, labels) >= sig.score(X, labels) - 0.03
    assert soft.score(X, labels) > 0.85


def test_the_losses_registry_is_what_get_loss_reads():
    for name, by_output in LOSSES.items():
        for output, loss in by_output.items():
            assert get_loss(name, output) is loss
            assert loss.reference is not None and loss.kernel is not None
    assert {n for n, _ in PAIRS} >= {"mse", "log", "cross_entropy", "huber"}
    assert set(fastnet.LOSS_NAMES) >= {"categorical_crossentropy", "softmax_cross_entropy"}
