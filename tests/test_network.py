"""The Network API: training loop, stopping rule, dtypes, shapes, compilation and accuracy."""

import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from conftest import DTYPES, LOSSES, make_data, random_weights

import fastnet
import fastnet._engine
from fastnet import Network, _kernels
from fastnet.data import demo_datasets


def test_same_seed_same_initial_weights_on_every_backend():
    a = Network((5, 4, 2), seed=3, backend="numba").weights
    b = Network((5, 4, 2), seed=3, backend="numpy").weights
    c = Network((5, 4, 2), seed=4).weights
    rng = np.random.default_rng(3)
    expected_W1 = rng.standard_normal((5, 4)) / np.sqrt(5)
    for (Wa, ba), (Wb, bb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, np.zeros_like(ba))
        np.testing.assert_array_equal(bb, ba)
    np.testing.assert_array_equal(a[0][0], expected_W1)
    assert not np.array_equal(a[0][0], c[0][0])


def test_weights_are_copies_and_from_weights_copies_its_input():
    w = random_weights((3, 2, 1))
    before = [(W.copy(), b.copy()) for W, b in w]
    net = Network.from_weights(w)
    got = net.weights
    got[0][0][:] = 99
    assert not np.any(net.weights[0][0] == 99)
    X, y = make_data((3, 2, 1))
    net.fit(X, y, epochs=5, tol=None)
    for (W, b), (W0, b0) in zip(w, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_history_is_loss_before_each_update(backend):
    X, y = make_data((4, 3, 1))
    net = Network((4, 3, 1), loss="log", backend=backend)
    first = net.loss(X, y)
    net.fit(X, y, epochs=3, tol=None)
    assert net.history_[0] == first
    assert net.n_epochs_ == 3 and not net.converged_
    # the next fit continues from the current weights
    now = net.loss(X, y)
    net.fit(X, y, epochs=1, tol=None)
    assert net.history_[0] == now


def test_tol_none_runs_exactly_epochs(backend):
    X, y = make_data((4, 3, 1))
    net = Network((4, 3, 1), backend=backend).fit(X, y, lr=1e-9, epochs=57, tol=None)
    assert net.n_epochs_ == 57 == len(net.history_)
    assert not net.converged_


@pytest.mark.parametrize("n_iter_no_change", [1, 5])
def test_stopping_rule_matches_its_documentation(backend, n_iter_no_change):
    X, y = make_data((4, 3, 1))
    tol = 1e-3
    net = Network((4, 3, 1), backend=backend)
    net.fit(X, y, lr=0.05, epochs=5000, tol=tol, n_iter_no_change=n_iter_no_change)
    h = net.history_.astype(float)
    assert net.converged_ and net.n_epochs_ == len(h) < 5000
    # replay the documented rule on the recorded history
    best, count, stop = np.inf, 0, None
    for t, loss in enumerate(h):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n_iter_no_change:
            stop = t + 1
            break
    assert stop == len(h)


def test_both_backends_stop_at_the_same_epoch():
    X, y = make_data((4, 3, 1), n=100)
    runs = [
        Network((4, 3, 1), backend=b).fit(X, y, lr=0.5, epochs=3000, tol=1e-5)
        for b in ("numba", "numpy")
    ]
    assert runs[0].converged_ and runs[1].converged_
    assert runs[0].n_epochs_ == runs[1].n_epochs_


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_dtype_is_kept_everywhere(dtype, loss, backend):
    X, y = make_data((4, 3, 2), dtype=np.float64)  # float64 data is converted, not upcast into
    net = Network((4, 3, 2), loss=loss, dtype=dtype, backend=backend).fit(X, y, epochs=5)
    assert net.history_.dtype == dtype
    assert all(W.dtype == dtype and b.dtype == dtype for W, b in net.weights)
    assert all(W.dtype == dtype and b.dtype == dtype for W, b in net.gradients(X, y))
    assert net.loss(X, y).dtype == dtype
    assert net.predict_proba(X).dtype == dtype


def test_prediction_shapes_and_threshold(backend):
    X, y = make_data((4, 3, 1))
    net = Network((4, 3, 1), backend=backend)
    p = net.predict_proba(X)
    assert p.shape == (37,) and np.all((p > 0) & (p < 1))
    np.testing.assert_array_equal(net.predict(X), (p >= 0.5).astype(int))
    X2, y2 = make_data((4, 3, 2))
    net2 = Network((4, 3, 2), backend=backend)
    assert net2.predict_proba(X2).shape == (37, 2)
    assert net2.predict(X2).shape == (37, 2)
    assert 0 <= net2.score(X2, y2) <= 1
    assert net.score(X, y) == np.mean(net.predict(X) == y)


def test_backends_predict_the_same(backend):
    X, _ = make_data((5, 4, 3, 2), n=300)
    w = random_weights((5, 4, 3, 2))
    a = Network.from_weights(w, backend="numba").predict_proba(X)
    b = Network.from_weights(w, backend="numpy").predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("loss", LOSSES)
def test_breast_cancer_held_out_accuracy_with_defaults(loss, backend):
    X_tr, X_te, y_tr, y_te = demo_datasets()["breast_cancer"]
    net = Network((30, 16, 1), loss=loss, backend=backend).fit(X_tr, y_tr)
    assert net.score(X_te, y_te) >= 0.95


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    monkeypatch.setattr(fastnet._engine, "PARALLEL_MIN_WORK", 0)  # small, but threaded anyway
    monkeypatch.setattr(fastnet._engine, "ROWS_BLAS", 125)
    X, y = make_data((6, 8, 1), n=2000)  # 16 blocks of 125 rows, 16 chunks
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            net = Network((6, 8, 1), loss="log").fit(X, y, epochs=50, tol=None)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        runs.append(net)
    np.testing.assert_array_equal(runs[0].history_, runs[1].history_)
    for (W, b), (W2, b2) in zip(runs[0].weights, runs[1].weights, strict=True):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


def test_set_threads_limits_the_kernels_threads_and_changes_no_number(monkeypatch):
    monkeypatch.setattr(fastnet._engine, "PARALLEL_MIN_WORK", 0)  # small, but threaded anyway
    monkeypatch.setattr(fastnet._engine, "ROWS_BLAS", 125)
    X, y = make_data((6, 8, 1), n=2000)
    seen = []
    real = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: (seen.append(n), real(n)))
    default = Network((6, 8, 1), loss="log").fit(X, y, epochs=20, tol=None)
    assert seen == []  # no limit, nothing to change: not even a call
    previous = fastnet.set_threads(1)
    try:
        assert previous is None and fastnet.get_threads() == 1
        one = Network((6, 8, 1), loss="log").fit(X, y, epochs=20, tol=None)
    finally:
        fastnet.set_threads(previous)
    assert fastnet.get_threads() is None
    if numba.config.NUMBA_NUM_THREADS > 1:
        assert 1 in seen  # the kernels ran on one thread, and numba's setting came back
        assert seen[-1] == numba.config.NUMBA_NUM_THREADS
    np.testing.assert_array_equal(default.history_, one.history_)
    np.testing.assert_array_equal(default.weights[0][0], one.weights[0][0])


@pytest.mark.parametrize(
    ("threads", "error"),
    [(0, ValueError), (-1, ValueError), (10**6, ValueError), (1.0, TypeError), (True, TypeError),
     ("2", TypeError)],
)  # fmt: skip
def test_set_threads_rejects_bad_values(threads, error):
    with pytest.raises(error, match="threads"):
        fastnet.set_threads(threads)
    assert fastnet.get_threads() is None


def test_a_second_fit_does_not_recompile():
    X, y = make_data((4, 3, 1))
    Network((4, 3, 1), loss="mse").fit(X, y, epochs=2).predict(X)
    before = {
        k: len(k.overloads) for k in (_kernels.train, _kernels.predict, _kernels.predict_serial)
    }
    # another loss, other sizes and epochs: the same compiled kernel (losses are pointers)
    X2, y2 = make_data((7, 5, 2, 2), n=200)
    net = Network((7, 5, 2, 2), loss="log").fit(X2, y2, epochs=3)
    net.predict(X2)
    net.gradients(X2, y2)
    after = {
        k: len(k.overloads) for k in (_kernels.train, _kernels.predict, _kernels.predict_serial)
    }
    assert before == after


def test_a_new_process_loads_the_kernels_from_the_disk_cache():
    # Make sure the cache holds the kernels, then fit in a fresh interpreter and ask numba
    # whether anything had to be compiled there.
    X, y = make_data((4, 3, 1))
    Network((4, 3, 1)).fit(X, y, epochs=2)
    code = textwrap.dedent(
        """
        import numpy as np
        from fastnet import Network, _kernels
        X = np.random.default_rng(0).standard_normal((50, 4))
        Network((4, 3, 1)).fit(X, (X[:, 0] > 0).astype(float), epochs=2)
        stats = _kernels.train.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    hits, misses = map(int, out.stdout.split())
    assert (hits, misses) == (1, 0)


def test_package_exports():
    assert {"Network", "DivergedError"} <= set(fastnet.__all__)
