"""Sparse ``X`` (issue 13, item 5): ``scipy.sparse`` inputs train and predict through the
kernels' sparse products (``_kernels.input_forward``/``input_grad``), never densified.

Witnesses: the dense fit of ``X.toarray()`` (float64 within 1e-12 relative; float32 within its
rounding), the NumPy baseline on the same sparse matrix (scipy's own products), every sparse
format and index width giving the CSR result, the thread count changing no bit; the caller's
matrix is never written; bad sparse input is a clear error before anything compiles; and a
fit's peak memory (``tracemalloc``) stays below the matrix's own size.
"""

import json
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from test_validation import CALLS, raises

import fastnet
from fastnet import Network, _engine, _jit, _validation
from fastnet.data import sparse_classification
from fastnet.sklearn import FastNetClassifier, FastNetRegressor
from fastnet.warmup import loss_output_pairs

PAIRS = loss_output_pairs()
OPTIMIZERS = ["gd", "adam", "rprop", "lbfgs"]
DTYPES = [np.float64, np.float32]
D, HIDDEN = 40, 6


def sparse_data(output="sigmoid", dtype=np.float64, n=1300, d=D, density=0.15, seed=0):
    """A CSR ``X`` (three row blocks of the kernels, four empty rows), its targets for
    ``output`` and row weights."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal, dtype=np.float64)  # fmt: skip
    keep = np.ones(n)
    keep[5:9] = 0  # rows without a stored value
    X = (sp.diags(keep) @ X).tocsr()
    X.eliminate_zeros()
    D_ = X.toarray()
    s = D_[:, :3].sum(axis=1) - D_[:, 3:6].sum(axis=1)
    if output == "softmax":
        y = (s > -0.3).astype(np.int64) + (s > 0.3)
    elif output == "linear":
        y = (2 * s + 0.5).astype(dtype)
    else:
        y = (s > 0).astype(dtype)
    return X.astype(dtype), y, rng.uniform(0.0, 3.0, n)


def net_for(loss, output, dtype=np.float64, backend="numba", d=D, seed=1):
    k = 3 if output == "softmax" else 1
    return Network((d, HIDDEN, k), loss=loss, output=output, dtype=dtype, seed=seed,
                   backend=backend)  # fmt: skip


def fit_kwargs(optimizer, output, dtype, weights):
    # L-BFGS amplifies rounding differences from iteration to iteration (any reordering of a
    # sum does that: ~1e-13 after 12 float64 iterations, ~5e-11 after 30), so it runs fewer
    kw = dict(optimizer=optimizer, tol=None, sample_weight=weights, alpha=0.01)
    if optimizer == "lbfgs":
        kw["epochs"] = 12 if dtype == np.float64 else 6
    else:
        kw["epochs"] = 100
    if optimizer == "gd":
        kw["lr"] = 0.05 if output == "linear" else 0.3
    return kw


def assert_close(a, b, rtol):
    """Elementwise within ``rtol``, and within ``rtol`` of the largest value for values near
    zero."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.abs(b).max()))


def assert_same_fit(a, b, rtol):
    assert a.n_epochs_ == b.n_epochs_
    assert_close(a.history_, b.history_, rtol)
    for (W, bias), (W0, b0) in zip(a.weights, b.weights, strict=True):
        assert_close(W, W0, rtol)
        assert_close(bias, b0, rtol)


RTOL = {np.float64: 1e-12, np.float32: 1e-5}


# ---------------------------------------------------------------------- the dense fit
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_a_sparse_fit_equals_the_dense_fit(loss, output, optimizer, dtype, weighted):
    X, y, w = sparse_data(output, dtype)
    kw = fit_kwargs(optimizer, output, dtype, w if weighted else None)
    sparse = net_for(loss, output, dtype).fit(X, y, **kw)
    dense = net_for(loss, output, dtype).fit(X.toarray(), y, **kw)
    assert sparse.history_.dtype == dtype and sparse.weights[0][0].dtype == dtype
    rtol = RTOL[dtype] if optimizer != "lbfgs" or dtype == np.float64 else 1e-4
    assert_same_fit(sparse, dense, rtol)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_every_evaluation_takes_sparse_X(loss, output, dtype, backend):
    X, y, w = sparse_data(output, dtype)
    net = net_for(loss, output, dtype, backend)
    net.fit(X.toarray(), y, optimizer="adam", epochs=20, tol=None)
    Xd = X.toarray()
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    for name in ("predict_proba", "logits", "predict"):
        got, want = getattr(net, name)(X), getattr(net, name)(Xd)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert_close(got, want, rtol)
    if output != "linear":
        assert_close(net.predict_log_proba(X), net.predict_log_proba(Xd), rtol)
    assert_close(net.loss(X, y, sample_weight=w, alpha=0.1),
                 net.loss(Xd, y, sample_weight=w, alpha=0.1), rtol)  # fmt: skip
    for (dW, db), (dW0, db0) in zip(net.gradients(X, y), net.gradients(Xd, y), strict=True):
        assert_close(dW, dW0, rtol)
        assert_close(db, db0, rtol)
    assert net.score(X, y) == pytest.approx(net.score(Xd, y), rel=rtol)


# ---------------------------------------------------------------------- the NumPy baseline
@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_the_numpy_baseline_on_the_same_sparse_matrix(loss, output):
    # backend="numpy" multiplies the sparse X with scipy's own products: an independent witness
    X, y, w = sparse_data(output, n=400)  # the weighted baseline loops over rows in Python
    kw = dict(optimizer="adam", epochs=100, tol=None, sample_weight=w, alpha=0.01)
    fast = net_for(loss, output).fit(X, y, **kw)
    ref = net_for(loss, output, backend="numpy").fit(X, y, **kw)
    assert_same_fit(fast, ref, 1e-10)
    assert_same_fit(ref, net_for(loss, output, backend="numpy").fit(X.toarray(), y, **kw), 1e-12)


# ---------------------------------------------------------------------- formats and layouts
FORMATS = {
    "csc": lambda X: X.tocsc(),
    "coo": lambda X: X.tocoo(),
    "lil": lambda X: X.tolil(),
    "dok": lambda X: X.todok(),
    "bsr": lambda X: X.tobsr(),
    "csr_array": sp.csr_array,
    "csc_array": sp.csc_array,
    "int data": lambda X: (X * 4).astype(np.int64),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_sparse_format_trains_and_predicts_as_its_dense_array(fmt):
    X, y, _ = sparse_data()
    Xf = FORMATS[fmt](X)
    kw = dict(optimizer="adam", epochs=30, tol=None)
    a = net_for("log", "sigmoid").fit(Xf, y, **kw)
    b = net_for("log", "sigmoid").fit(Xf.toarray(), y, **kw)
    assert_same_fit(a, b, 1e-12)
    assert_close(a.predict_proba(Xf), b.predict_proba(Xf.toarray()), 1e-13)


def _messy_csr(seed=0):
    """A valid CSR matrix that is not canonical: unsorted indices, duplicate entries (they
    count as their sum) and explicit zeros; 64-bit indices; read-only, strided values."""
    rng = np.random.default_rng(seed)
    n, per_row = 700, 9
    indices = rng.integers(0, D, n * per_row).astype(np.int64)  # unsorted, with repeats
    values = rng.standard_normal(2 * n * per_row)[::2]  # strided
    values[::7] = 0.0  # explicit zeros
    values.flags.writeable = False
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int64)
    X = sp.csr_matrix((n, D))
    X.data, X.indices, X.indptr = values, indices, indptr  # as given: no scipy clean-up
    return X


def test_unsorted_duplicate_zero_entries_and_64_bit_indices_count_as_scipy_counts_them():
    X = _messy_csr()
    y = (X.toarray()[:, :4].sum(axis=1) > 0).astype(float)
    kw = dict(optimizer="rprop", epochs=40, tol=None)
    a = net_for("log", "sigmoid").fit(X, y, **kw)
    b = net_for("log", "sigmoid").fit(X.toarray(), y, **kw)
    assert_same_fit(a, b, 1e-12)
    assert_close(a.predict_proba(X), b.predict_proba(X.toarray()), 1e-13)


def _snapshot(X):
    return [(a.copy(), a.dtype, a.flags.writeable) for a in (X.data, X.indices, X.indptr)]


@pytest.mark.parametrize("case", ["csr", "csc", "float32 data", "messy"])
def test_the_callers_matrix_is_never_modified(case):
    X, y, w = sparse_data()
    X = {"csr": X, "csc": X.tocsc(), "float32 data": X.astype(np.float32),
         "messy": _messy_csr()}[case]  # fmt: skip
    y = y[: X.shape[0]]
    before = (_snapshot(X), X.format, X.shape)
    net = net_for("log", "sigmoid").fit(X, y, epochs=60, tol=None)
    net.predict(X), net.score(X, y), net.loss(X, y), net.gradients(X, y), net.logits(X)
    net_for("log", "sigmoid", backend="numpy").fit(X, y, epochs=3, tol=None)
    for (a, dt, wr), now in zip(before[0], (X.data, X.indices, X.indptr), strict=True):
        np.testing.assert_array_equal(now, a)
        assert now.dtype == dt and now.flags.writeable == wr
    assert (X.format, X.shape) == before[1:]


def test_a_csr_matrix_in_the_networks_dtype_is_not_copied():
    X, _, _ = sparse_data()
    dt = np.dtype(np.float64)
    assert _validation.check_X(X, D, dt, sparse=True) is X
    # float32 values for a float64 network: new values, the same indices
    X32 = X.astype(np.float32)
    got = _validation.check_X(X32, D, dt, sparse=True)
    assert got.data.dtype == dt
    assert np.shares_memory(got.indices, X32.indices) and np.shares_memory(got.indptr, X32.indptr)
    # 64-bit indices that fit in 32 bits become 32-bit (one compiled variant serves both)
    X64 = X.copy()
    X64.indices, X64.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    got = _validation.check_X(X64, D, dt, sparse=True)
    assert got.indices.dtype == got.indptr.dtype == np.int32
    assert np.shares_memory(got.data, X64.data)
    with pytest.raises(TypeError, match="X is a sparse matrix"):  # dense-only callers
        _validation.check_X(X, D, dt)


def test_64_bit_indices_beyond_32_bits_run_the_64_bit_kernels_with_the_same_result(monkeypatch):
    X, y, _ = sparse_data(n=600)
    X64 = X.copy()
    X64.indices, X64.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    monkeypatch.setattr(_validation, "SPARSE_INT32_MAX", 10)  # as if nnz were above 2^31
    assert _validation.check_X(X64, D, np.dtype(np.float64), sparse=True) is X64
    kw = dict(epochs=20, tol=None)
    a = net_for("log", "sigmoid").fit(X64, y, **kw)
    monkeypatch.undo()
    b = net_for("log", "sigmoid").fit(X, y, **kw)
    np.testing.assert_array_equal(a.history_, b.history_)  # the same sums in the same order
    np.testing.assert_array_equal(a.predict_proba(X64), b.predict_proba(X))


def test_sparse_results_do_not_depend_on_the_thread_count(threads_restored):
    # above PARALLEL_MIN_WORK: the chunks run on numba's threads
    X, y = sparse_classification(3000, 300, 0.05)
    assert 3000 * (300 * 16 + 16 + 17) >= _engine.PARALLEL_MIN_WORK
    runs = []
    for threads in (1, None):
        fastnet.set_threads(threads)
        net = Network((300, 16, 1), loss="log", seed=0).fit(X, y, epochs=30, tol=None)
        runs.append((net.history_, net._params.copy(), net.predict_proba(X)))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def threads_restored():
    before = fastnet.set_threads(None)
    yield
    fastnet.set_threads(before)


# ---------------------------------------------------------------------- bad input
def _bad(mutate):
    X, _, _ = sparse_data()
    X = X.copy()
    mutate(X)
    return X


def _set(attr, index, value):
    def mutate(X):
        arr = getattr(X, attr).copy()
        arr[index] = value
        setattr(X, attr, arr)

    return mutate


X6, Y6, _ = sparse_data(n=6)
BAD_SPARSE = [
    ("nan", _bad(_set("data", 3, np.nan)), ValueError, "X contains NaN or infinity"),
    ("inf", _bad(_set("data", 0, -np.inf)), ValueError, "X contains NaN or infinity"),
    ("too large", _bad(_set("data", 1, 1e160)), ValueError, "Scale X first"),
    ("wrong width", sp.random(6, D + 1, density=0.3, format="csr", random_state=0), ValueError,
     f"X has {D + 1} features, but the network expects {D}"),
    ("no rows", sp.csr_matrix((0, D)), ValueError, "X is empty: it has 0 samples"),
    ("1-D", sp.coo_array(np.ones(D)), ValueError, "X must be 2-D (n_samples, n_features)"),
    ("complex", sp.random(6, D, density=0.3, format="csr", random_state=0) * 1j, TypeError,
     "X must be real-valued"),
    ("column index out of range", _bad(_set("indices", 2, D)), ValueError,
     f"X is not a valid CSR matrix: its column indices must lie in [0, {D})"),
    ("negative column index", _bad(_set("indices", 0, -1)), ValueError,
     "X is not a valid CSR matrix: its column indices"),
    ("indptr decreasing", _bad(_set("indptr", 3, 0)), ValueError,
     "X is not a valid CSR matrix: its indptr decreases"),
    ("indptr past the values", _bad(_set("indptr", -1, 10**6)), ValueError,
     "X is not a valid CSR matrix: its indptr must run from 0"),
    ("indptr not from 0", _bad(_set("indptr", 0, 1)), ValueError,
     "X is not a valid CSR matrix: its indptr must run from 0"),
]  # fmt: skip


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize(
    ("bad", "exc", "fragment"), [c[1:] for c in BAD_SPARSE], ids=[c[0] for c in BAD_SPARSE]
)
def test_bad_sparse_X_is_named_before_anything_compiles(backend, call, bad, exc, fragment):
    net = Network((D, HIDDEN, 1), loss="log", backend=backend)
    y = np.zeros(bad.shape[0]) if len(bad.shape) == 2 else Y6
    before, compiled = net.weights, dict(_jit._ENTRY_POINTS)
    raises(exc, fragment, CALLS[call], net, bad, y)
    assert _jit._ENTRY_POINTS == compiled and net.n_epochs_ == 0
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_float32_overflow_of_sparse_values_is_named():
    X = _bad(_set("data", 4, 1e39))  # finite in float64, inf in float32
    net = Network((D, HIDDEN, 1), loss="log", dtype=np.float32)
    raises(ValueError, "X has values too large for float32", net.fit, X, np.zeros(X.shape[0]))


@pytest.mark.parametrize("call", ["fit", "loss", "score"])
def test_sparse_targets_and_weights_are_type_errors(call):
    X, y, w = sparse_data()
    net = Network((D, HIDDEN, 1), loss="log")
    raises(TypeError, "y is a sparse matrix", CALLS[call], net, X, sp.csr_matrix(y[:, None]))
    if call != "score":
        fn = net.fit if call == "fit" else net.loss
        raises(TypeError, "sample_weight is a sparse matrix", fn, X, y,
               sample_weight=sp.csr_matrix(w))  # fmt: skip


def test_the_dask_path_rejects_sparse_X():
    da = pytest.importorskip("dask.array")
    X, y, _ = sparse_data(n=60)
    net = Network((D, HIDDEN, 1), loss="log")
    raises(TypeError, "X is a scipy.sparse matrix but y is a dask array", net.fit, X,
           da.from_array(y, chunks=30))  # fmt: skip
    distributed = pytest.importorskip("fastnet.distributed")
    with pytest.raises(TypeError, match="fastnet.distributed.fit takes dense dask arrays"):
        distributed.fit(net, X, y)
    assert net.n_epochs_ == 0


# ---------------------------------------------------------------------- the estimators
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_the_estimators_take_sparse_X(fmt):
    X, y, _ = sparse_data()
    Xs = X.asformat(fmt)
    Xd = X.toarray()
    kw = dict(hidden_layer_sizes=(HIDDEN,), solver="adam", max_iter=40, tol=None, random_state=0)
    y3 = np.array(["a", "b", "c"])[sparse_data("softmax")[1]]
    for est, target in ((FastNetClassifier, y), (FastNetClassifier, y3),
                        (FastNetRegressor, sparse_data("linear")[1])):  # fmt: skip
        a, b = est(**kw).fit(Xs, target), est(**kw).fit(Xd, target)
        assert_close(a.loss_curve_, b.loss_curve_, 1e-12)
        methods = ["predict", "score"]
        if est is FastNetClassifier:
            methods += ["predict_proba", "predict_log_proba"]
        for name in methods:
            got = getattr(a, name)(Xs, target) if name == "score" else getattr(a, name)(Xs)
            want = getattr(b, name)(Xd, target) if name == "score" else getattr(b, name)(Xd)
            if np.asarray(want).dtype.kind in "fc":
                assert_close(got, want, 1e-12)
            else:
                np.testing.assert_array_equal(got, want)


def test_a_float32_sparse_matrix_trains_the_estimator_in_float32():
    X, y, _ = sparse_data(dtype=np.float32)
    clf = FastNetClassifier(hidden_layer_sizes=(HIDDEN,), max_iter=5, tol=None).fit(X, y)
    assert clf.network_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32


# ---------------------------------------------------------------------- peak memory
def test_a_sparse_fit_needs_less_memory_than_the_matrix_itself():
    """The issue's rule, "peak memory below 2x the sparse matrix itself", on a moderate size:
    everything a fit and a prediction allocate (``tracemalloc`` traces NumPy's buffers: the
    engine's, the checks', the optimizer's, the diagnostics') stays below the matrix's own
    bytes (9.8 MB here: 800,000 values; the dense array would be 640 MB).
    bench/test_bench_sparse.py measures the 100,000 x 10,000 workload."""
    n, d = 40_000, 2_000
    X, y = sparse_classification(n, d, 0.01)
    matrix = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    Network((d, 16, 1), loss="log").fit(X[:600], y[:600], epochs=1)  # loads the kernels
    _engine._idle().clear()  # no engine of this size in the pool: the fit allocates its own
    tracemalloc.start()
    try:
        net = Network((d, 16, 1), loss="log", seed=0)
        net.fit(X, y, epochs=60, tol=None)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        net.predict_proba(X)
        _, predict_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert net.history_[-1] < net.history_[0]
    assert fit_peak < matrix, (fit_peak, matrix)
    assert predict_peak < matrix, (predict_peak, matrix)


# ---------------------------------------------------------------------- the report's table
def _sparse_bench(impl, median_s, rss, traced):
    extra = dict(implementation=impl, n=100_000, d=10_000, density=0.01, nnz=10_000_000,
                 hidden=16, epochs=5, dtype="float64", matrix_bytes=120_000_000,
                 peak_rss_bytes=rss, peak_traced_bytes=traced)  # fmt: skip
    return {"group": "sparse", "name": f"test_sparse[{impl}]", "extra_info": extra,
            "stats": {"median": median_s, "rounds": 3}}  # fmt: skip


def test_the_report_prints_bench_sparse_results(tmp_path, capsys):
    from fastnet import report

    data = {
        "machine_info": {"node": "box", "system": "Linux", "machine": "x86_64",
                         "cpu": {"brand_raw": "Some CPU", "count": 2}},
        "commit_info": {"id": "0123456789abcdef", "dirty": False},
        "benchmarks": [_sparse_bench("scikit-learn", 4.0, 300_000_000, None),
                       _sparse_bench("fastnet", 2.0, 24_000_000, 30_000_000)],
        "datetime": "2026-01-01T00:00:00",
    }  # fmt: skip
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    rep = report.load(path)
    assert rep["results"] == [] and len(rep["sparse"]) == 2
    text = report.format_sparse(rep)
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]]
            for line in text.splitlines()[2:] if "|" in line}  # fmt: skip
    # ms per epoch = median / epochs; x fastnet = other / fastnet; (matrix + peak) / matrix
    assert rows["fastnet"] == ["400", "1.00", "24.0", "1.20", "30.0", "1.25"]
    assert rows["scikit-learn"] == ["800", "2.00", "300.0", "3.50", "–", "–"]
    assert list(rows) == ["fastnet", "scikit-learn"]  # fastnet first, whatever the JSON's order
    assert "100,000 x 10,000 CSR at 1% (10,000,000 values, 120.0 MB; dense 8.0 GB)" in text
    assert "| fastnet | 400 | 1.00 | 24.0 | 1.20 | 30.0 | 1.25 |" in report.format_sparse(
        rep, markdown=True
    )
    assert report.main(["--from", str(path)]) == 0
    assert text in capsys.readouterr().out
