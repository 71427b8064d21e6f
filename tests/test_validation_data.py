"""``Network.fit(validation_data=..., early_stopping=...)``: held-out rows scored inside the
compiled loop (issue 13, item 3), against the NumPy baseline and the network's own ``loss`` and
``score``."""

import numpy as np
import pytest
from conftest import random_weights
from test_weights import _data

import fastnet
from fastnet import Network, _jit
from fastnet.warmup import loss_output_pairs

PAIRS = loss_output_pairs()


def _split(output, n=400, seed=0):
    layers, X, y, w = _data(output, n=n, seed=seed)
    cut = n * 3 // 4
    return layers, (X[:cut], y[:cut], w[:cut]), (X[cut:], y[cut:], w[cut:])


def _score(net, X, y, w):
    """scikit-learn's weighted score of ``net`` from ``predict_proba``: accuracy (class 1 where
    p > 0.5; the arg-max for a softmax) or R^2 averaged over the outputs."""
    P = net.predict_proba(X).reshape(len(X), -1)
    Y = np.asarray(y, np.float64).reshape(len(X), -1)
    if net.output == "linear":
        mean = w @ Y / w.sum()
        r2 = 1 - (w[:, None] * (Y - P) ** 2).sum(0) / (w[:, None] * (Y - mean) ** 2).sum(0)
        return float(np.mean(r2))
    if net.output == "softmax":
        right = P.argmax(axis=1) == Y.argmax(axis=1)
    else:
        right = np.all((P > 0.5) == (Y > 0.5), axis=1)
    return float(np.dot(w, right) / w.sum())


def _net(weights, loss, output, backend="numba"):
    return Network.from_weights(weights, loss=loss, output=output, backend=backend)


@pytest.mark.parametrize(("loss", "output"), PAIRS)
@pytest.mark.parametrize("optimizer", ["gd", "adam", "lbfgs"])
@pytest.mark.parametrize("early", [False, True])
def test_held_out_loss_and_score_equal_the_numpy_baseline(loss, output, optimizer, early):
    layers, (X, y, w), (Xv, yv, wv) = _split(output)
    weights = random_weights(layers, scale=0.5)
    kw = dict(optimizer=optimizer, epochs=150 if optimizer != "lbfgs" else 40,
              validation_data=(Xv, yv, wv), early_stopping=early, n_iter_no_change=4,
              sample_weight=w, tol=1e-3 if early else None)  # fmt: skip
    if optimizer == "gd":
        kw["lr"] = 0.1
    fast = _net(weights, loss, output).fit(X, y, **kw)
    ref = _net(weights, loss, output, backend="numpy").fit(X, y, **kw)
    assert fast.n_epochs_ == ref.n_epochs_ == len(fast.validation_scores_)
    np.testing.assert_allclose(fast.validation_history_, ref.validation_history_, rtol=1e-10,
                               atol=1e-14)  # fmt: skip
    np.testing.assert_allclose(fast.validation_scores_, ref.validation_scores_, rtol=1e-10)
    assert fast.best_validation_score_ == pytest.approx(ref.best_validation_score_, rel=1e-10)
    for (W, b), (Wr, br) in zip(fast.weights, ref.weights, strict=True):
        scale = max(np.abs(Wr).max(), np.abs(br).max())  # L-BFGS grows some weights to 100s
        np.testing.assert_allclose(W, Wr, rtol=1e-9, atol=1e-11 * scale)
        np.testing.assert_allclose(b, br, rtol=1e-9, atol=1e-11 * scale)


@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_each_epochs_held_out_loss_and_score_are_the_networks_own(loss, output):
    # witnessed between blocks (one epoch each) by ``loss`` and ``score`` at the weights then
    layers, (X, y, _), (Xv, yv, wv) = _split(output, seed=1)
    net = _net(random_weights(layers, scale=0.5), loss, output)
    seen = []

    def watch(done, _):
        seen.append((float(net.loss(Xv, yv, sample_weight=wv)), _score(net, Xv, yv, wv)))

    net.fit(X, y, lr=0.05, epochs=12, tol=None, validation_data=(Xv, yv, wv), callback=watch,
            block_epochs=1)  # fmt: skip
    np.testing.assert_allclose(net.validation_history_, [s[0] for s in seen], rtol=1e-12)
    np.testing.assert_allclose(net.validation_scores_, [s[1] for s in seen], rtol=1e-12)


def test_early_stopping_restores_the_best_epochs_weights_also_when_stopped_otherwise():
    layers, (X, y, _), (Xv, yv, _) = _split("sigmoid", n=600, seed=2)
    weights = random_weights(layers, scale=0.5)
    snapshots = []

    def stop_at_30(done, _):
        snapshots.append(net.weights)
        if done == 30:
            raise RuntimeError("stop")

    net = _net(weights, "log", "sigmoid")
    with pytest.raises(RuntimeError, match="stop"):
        net.fit(X, y, lr=1.0, epochs=100, tol=None, validation_data=(Xv, yv),
                early_stopping=True, callback=stop_at_30, block_epochs=1)  # fmt: skip
    assert net.n_epochs_ == 30
    best = int(np.argmax(net.validation_scores_))  # the first best epoch
    assert net.best_validation_score_ == net.validation_scores_[best]
    for (W, b), (Wb, bb) in zip(net.weights, snapshots[best], strict=True):
        np.testing.assert_array_equal(W, Wb)
        np.testing.assert_array_equal(b, bb)
    assert net.score(Xv, yv) == pytest.approx(net.best_validation_score_)


def test_a_block_boundary_or_the_thread_count_changes_no_held_out_number():
    # one optimizer: the held-out pass is the same code for every one (end_epoch), and each
    # parallel variant with it is a long compile
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30_000, 10))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    layers = (10, 16, 1)
    kw = dict(optimizer="rprop", epochs=12, tol=None,
              validation_data=(X[:5000] + 0.1, y[:5000]), early_stopping=True)  # fmt: skip
    weights = random_weights(layers, scale=0.5)
    one = _net(weights, "log", "sigmoid").fit(X, y, **kw)
    blocks = _net(weights, "log", "sigmoid").fit(X, y, block_epochs=5, **kw)
    previous = fastnet.set_threads(1)
    try:
        serial = _net(weights, "log", "sigmoid").fit(X, y, **kw)
    finally:
        fastnet.set_threads(previous)
    for other in (blocks, serial):
        np.testing.assert_array_equal(one.validation_history_, other.validation_history_)
        np.testing.assert_array_equal(one.validation_scores_, other.validation_scores_)
        np.testing.assert_array_equal(one.weights[0][0], other.weights[0][0])


def test_a_fit_without_validation_data_clears_the_held_out_attributes():
    layers, (X, y, _), (Xv, yv, _) = _split("sigmoid")
    net = Network(layers, loss="log").fit(X, y, epochs=5, validation_data=(Xv, yv))
    assert net.validation_scores_.shape == (5,) and net.best_validation_score_ is not None
    net.fit(X, y, epochs=5)
    assert net.validation_scores_.shape == (0,) and net.best_validation_score_ is None


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(early_stopping=True), ValueError, r"early_stopping=True needs validation_data"),
        (dict(validation_metric="r2"), ValueError, "validation_metric needs validation_data"),
        (dict(validation_data=[1, 2, 3, 4]), TypeError, "validation_data must be a tuple"),
        (dict(validation_data="xy"), TypeError, "validation_data must be a tuple"),
        (dict(validation_data=(np.ones((5, 3)), np.ones(5))), ValueError,
         "validation_data: X has 3 features, but the network expects 4"),
        (dict(validation_data=(np.ones((5, 4)), np.ones(4))), ValueError,
         "validation_data: y has 4 samples but X has 5"),
        (dict(validation_data=(np.full((5, 4), np.nan), np.ones(5))), ValueError,
         "validation_data: X contains NaN or infinity"),
        (dict(validation_data=(np.ones((5, 4)), np.full(5, 0.5))), ValueError,
         "validation_data: y must hold 0/1 labels for validation_metric='accuracy'"),
        (dict(validation_data=(np.ones((5, 4)), np.ones(5), -np.ones(5))), ValueError,
         "validation_data sample_weight must be non-negative"),
        (dict(validation_data=(np.ones((5, 4)), np.ones(5)), validation_metric="f1"), ValueError,
         "validation_metric must be 'accuracy' or 'r2'"),
        (dict(validation_data=(np.ones((5, 4)), np.ones(5)), early_stopping="yes"), TypeError,
         "early_stopping must be True or False"),
    ],
)  # fmt: skip
def test_bad_validation_arguments_are_named_before_anything_compiles(kwargs, exc, match):
    layers, (X, y, _), _ = _split("sigmoid")
    net = Network(layers, loss="log")
    before, compiled = net.weights, dict(_jit._ENTRY_POINTS)
    with pytest.raises(exc, match=match):
        net.fit(X, y, **kwargs)
    assert _jit._ENTRY_POINTS == compiled and net.n_epochs_ == 0
    np.testing.assert_array_equal(net.weights[0][0], before[0][0])


def test_sparse_training_and_held_out_rows_equal_the_dense_ones():
    sparse = pytest.importorskip("scipy.sparse")
    layers, (X, y, w), (Xv, yv, wv) = _split("sigmoid", n=600, seed=3)
    X[np.abs(X) < 0.8] = 0  # about half the values stored
    Xv[np.abs(Xv) < 0.8] = 0
    weights = random_weights(layers, scale=0.5)
    kw = dict(lr=0.2, epochs=40, tol=1e-4, n_iter_no_change=3, early_stopping=True,
              sample_weight=w)  # fmt: skip
    dense = _net(weights, "log", "sigmoid").fit(X, y, validation_data=(Xv, yv, wv), **kw)
    held = (sparse.csr_matrix(Xv), yv, wv)
    csr = _net(weights, "log", "sigmoid").fit(sparse.csr_matrix(X), y, validation_data=held, **kw)
    assert csr.n_epochs_ == dense.n_epochs_
    np.testing.assert_allclose(csr.validation_history_, dense.validation_history_, rtol=1e-12)
    np.testing.assert_array_equal(csr.validation_scores_, dense.validation_scores_)
    np.testing.assert_allclose(csr.weights[0][0], dense.weights[0][0], rtol=1e-11, atol=1e-14)


def test_float32_held_out_rows_stay_float32_and_equal_the_numpy_baseline():
    layers, (X, y, w), (Xv, yv, wv) = _split("sigmoid", n=400, seed=4)
    X, y, Xv, yv = (a.astype(np.float32) for a in (X, y, Xv, yv))
    weights = [(W.astype(np.float32), b.astype(np.float32)) for W, b in random_weights(layers)]
    kw = dict(optimizer="adam", lr=0.01, epochs=60, tol=1e-3, n_iter_no_change=4,
              validation_data=(Xv, yv, wv), early_stopping=True, sample_weight=w)  # fmt: skip
    fast = _net(weights, "log", "sigmoid").fit(X, y, **kw)
    ref = _net(weights, "log", "sigmoid", backend="numpy").fit(X, y, **kw)
    assert fast.validation_history_.dtype == np.float32 and fast.weights[0][0].dtype == np.float32
    assert fast.n_epochs_ == ref.n_epochs_
    np.testing.assert_allclose(fast.validation_history_, ref.validation_history_, rtol=1e-5)
    np.testing.assert_allclose(fast.validation_scores_, ref.validation_scores_, rtol=1e-6)
