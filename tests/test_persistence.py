"""Network.save, fastnet.load and pickle: exact round trips, clear errors, atomic writes."""

import copy
import hashlib
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from conftest import DTYPES, LOSSES, make_data

import fastnet
from fastnet import Network, persistence

LAYERS = (4, 5, 3, 2)


def trained(backend, dtype=np.float64, loss="log", epochs=30):
    X, y = make_data(LAYERS, n=90, dtype=dtype)
    net = Network(LAYERS, loss=loss, dtype=dtype, seed=7, backend=backend)
    return net.fit(X, y, lr=0.5, epochs=epochs, tol=None), X, y


def assert_same_network(a, b, X):
    assert (a.layers, a.loss_name, a.dtype, a.backend) == (
        b.layers,
        b.loss_name,
        b.dtype,
        b.backend,
    )
    assert (a.n_epochs_, a.converged_) == (b.n_epochs_, b.converged_)
    assert a.history_.dtype == b.history_.dtype
    np.testing.assert_array_equal(a.history_, b.history_)
    for (Wa, ba), (Wb, bb) in zip(a.weights, b.weights, strict=True):
        assert Wa.dtype == Wb.dtype and ba.dtype == bb.dtype
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_save_load_round_trip_is_exact(tmp_path, backend, dtype, loss):
    net, X, _ = trained(backend, dtype, loss)
    path = net.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.is_file()
    assert_same_network(fastnet.load(path), net, X)
    assert_same_network(fastnet.load(str(path)), net, X)


def test_the_file_is_a_plain_npz_readable_without_pickle(tmp_path, backend):
    net, _, _ = trained(backend, np.float32)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert str(f["format"]) == "fastnet.Network"
        assert int(f["format_version"]) == persistence.FORMAT_VERSION == 3
        assert str(f["output"]) == "sigmoid"
        assert tuple(f["layers"]) == LAYERS
        assert (str(f["loss"]), str(f["dtype"]), str(f["backend"])) == ("log", "float32", backend)
        assert int(f["n_epochs"]) == 30 and not bool(f["converged"])
        np.testing.assert_array_equal(f["history"], net.history_)
        for i, (W, b) in enumerate(net.weights, start=1):
            assert f[f"W{i}"].dtype == np.float32
            np.testing.assert_array_equal(f[f"W{i}"], W)
            np.testing.assert_array_equal(f[f"b{i}"], b)


def test_save_writes_exactly_the_given_name(tmp_path, backend):
    net, X, _ = trained(backend, epochs=2)
    net.save(tmp_path / "model")  # no ".npz" appended, unlike np.savez
    assert sorted(os.listdir(tmp_path)) == ["model"]
    assert_same_network(fastnet.load(tmp_path / "model"), net, X)


def test_an_untrained_network_round_trips(tmp_path, backend):
    net = Network((3, 2, 1), backend=backend)
    net.save(tmp_path / "m.npz")
    loaded = fastnet.load(tmp_path / "m.npz")
    assert loaded.n_epochs_ == 0 and loaded.history_.shape == (0,)
    assert_same_network(loaded, net, np.ones((2, 3)))


def test_load_can_switch_backend(tmp_path, backend):
    net, X, _ = trained(backend)
    net.save(tmp_path / "m.npz")
    other = "numpy" if backend == "numba" else "numba"
    loaded = fastnet.load(tmp_path / "m.npz", backend=other)
    assert loaded.backend == other
    for (W, b), (W2, b2) in zip(loaded.weights, net.weights, strict=True):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError, match="backend must be one of"):
        fastnet.load(tmp_path / "m.npz", backend="tpu")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip_is_exact(backend, dtype, protocol):
    net, X, _ = trained(backend, dtype)
    assert_same_network(pickle.loads(pickle.dumps(net, protocol=protocol)), net, X)


def test_pickle_state_is_versioned_plain_arrays(backend):
    net, _, _ = trained(backend, epochs=3)
    state = net.__getstate__()
    assert int(state["format_version"]) == persistence.FORMAT_VERSION
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())


@pytest.mark.parametrize(
    "make_copy", [copy.copy, copy.deepcopy, lambda n: pickle.loads(pickle.dumps(n))]
)
def test_copies_are_independent(backend, make_copy):
    net, X, y = trained(backend, epochs=5)
    before = net.weights
    twin = make_copy(net)
    twin.fit(X, y, epochs=5, tol=None)  # trains in place: must not touch the original
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert not np.array_equal(twin.weights[0][0], before[0][0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_continues_identically_after_save_load_and_pickle(tmp_path, backend, dtype):
    net, X, y = trained(backend, dtype, epochs=20)
    net.save(tmp_path / "m.npz")
    copies = [fastnet.load(tmp_path / "m.npz"), pickle.loads(pickle.dumps(net))]
    for other in [net, *copies]:
        other.fit(X, y, lr=0.5, epochs=25, tol=None)
    for other in copies:
        assert_same_network(other, net, X)


# --------------------------------------------------------------------------- bad files
def _saved(tmp_path, backend="numba"):
    net, _, _ = trained(backend, epochs=3)
    return net.save(tmp_path / "good.npz")


def _rewrite(path, **changes):
    """A copy of the saved file at ``path`` with some fields changed (``None`` deletes one)."""
    with np.load(path, allow_pickle=False) as f:
        state = {k: f[k] for k in f.files}
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    out = path.with_name("changed.npz")
    np.savez(out, **state)
    return out


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"format_version": np.array(4)}, "has format version 4, newer than this fastnet reads"),
        ({"format_version": np.array(4), "W1": None}, "has format version 4, newer"),
        ({"format_version": None}, "is missing the field 'format_version'"),
        ({"format_version": np.array(0)}, "invalid format version 0"),
        ({"format_version": np.array("one")}, "'format_version' must be an integer"),
        ({"format": np.array("sklearn")}, "is not a fastnet model file"),
        ({"format": None}, "is not a fastnet model file"),
        ({"loss": None}, "is missing the fields ['loss']"),
        ({"W2": None}, "is missing the field 'W2'"),
        ({"W9": np.ones((2, 2))}, "do not match layers"),
        ({"W1": np.ones((4, 6))}, "W1, b1 have shapes (4, 6), (5,)"),
        ({"W1": np.ones((4, 5), np.float32)}, "'W1' must have dtype float64, got float32"),
        ({"W1": np.full((4, 5), np.nan)}, "weights[0][0] (W) contains NaN or infinity"),
        ({"layers": np.array([4, 0, 3, 2])}, "layers[1] must be >= 1"),
        ({"dtype": np.array("float16")}, "dtype must be np.float32 or np.float64"),
        ({"loss": np.array("hinge")}, "the loss 'hinge', which is not registered in this"),
        ({"output": None}, "is missing the fields ['output']"),
        ({"output": np.array("tanh")}, "invalid field: output must be one of"),
        ({"output": np.array("softmax")}, "loss 'log' does not work with output='softmax'"),
        ({"n_epochs": np.array(7)}, "n_epochs is 7 but history holds 3 losses"),
        ({"history": np.array([0.5, np.nan, 0.4])}, "history contains NaN or infinity"),
        ({"converged": np.array(3)}, "'converged' must be a boolean"),
    ],
)
def test_inconsistent_or_newer_files_are_rejected(tmp_path, changes, fragment):
    path = _rewrite(_saved(tmp_path), **changes)
    with pytest.raises(ValueError, match=None) as info:
        fastnet.load(path)
    assert fragment in str(info.value)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_files_are_rejected(tmp_path, keep):
    good = _saved(tmp_path)
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="is not a readable fastnet model file"):
        fastnet.load(cut)


def test_a_corrupted_member_is_rejected(tmp_path):
    good = _saved(tmp_path)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("W1.npy")
    # flip a byte in the middle of W1's data (after its local header): the CRC no longer matches
    data[info.header_offset + 30 + len("W1.npy") + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not a readable fastnet model file"):
        fastnet.load(bad)


def _other_files(tmp_path):
    plain = tmp_path / "other.npz"
    np.savez(plain, a=np.arange(3))
    single = tmp_path / "single.npy"
    np.save(single, np.arange(3))
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    pickled = tmp_path / "net.pkl"
    pickled.write_bytes(pickle.dumps(Network((2, 1))))
    return {
        plain: "is not a fastnet model file",
        single: "holds a single array, not an .npz archive",
        text: "is not a readable fastnet model file",
        empty: "is not a readable fastnet model file",
        pickled: "is not a readable fastnet model file",
    }


def test_files_that_are_not_fastnet_models_are_rejected(tmp_path):
    for path, fragment in _other_files(tmp_path).items():
        with pytest.raises(ValueError) as info:
            fastnet.load(path)
        assert fragment in str(info.value), path
        assert repr(str(path)) in str(info.value)  # the message names the file


@pytest.mark.parametrize("path", [None, 3, ["m.npz"]])
def test_a_path_that_is_not_a_path_is_a_type_error(backend, path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got"):
        Network((2, 1), backend=backend).save(path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got"):
        fastnet.load(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnet.load(tmp_path / "nope.npz")


def test_a_pickle_of_a_newer_format_is_rejected(backend):
    net, _, _ = trained(backend, epochs=2)
    state = net.__getstate__()
    state["format_version"] = np.array(99)
    clone = Network.__new__(Network)
    with pytest.raises(ValueError, match="pickled state has format version 99, newer"):
        clone.__setstate__(state)


# --------------------------------------------------------------------------- atomic writes
_real_savez = np.savez


class DiskFull(OSError):
    pass


def _half_write(file, **arrays):
    """Stands in for ``np.savez``: writes part of an archive, then fails like a full disk."""
    buffer = io.BytesIO()
    _real_savez(buffer, **arrays)
    file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    raise DiskFull(28, "No space left on device")


def _fail(*args, **kwargs):
    raise DiskFull(5, "Input/output error")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "replacement", "exc"),
    [
        ((np, "savez"), _half_write, DiskFull),
        ((os, "fsync"), _fail, DiskFull),
        ((os, "replace"), _fail, DiskFull),
        ((np, "savez"), _interrupt, KeyboardInterrupt),
    ],
    ids=["write", "fsync", "replace", "interrupt"],
)
@pytest.mark.parametrize("existing", [True, False], ids=["over-a-good-file", "new-file"])
def test_a_failing_save_leaves_the_old_file_and_no_debris(
    tmp_path, monkeypatch, backend, target, replacement, exc, existing
):
    old, X, y = trained(backend, epochs=2)
    path = tmp_path / "model.npz"
    if existing:
        old.save(path)
        good = sha(path)
    listing = sorted(os.listdir(tmp_path))
    newer = copy.deepcopy(old).fit(X, y, epochs=5, tol=None)
    with monkeypatch.context() as m:
        m.setattr(*target, replacement)
        with pytest.raises(exc):
            newer.save(path)
    assert sorted(os.listdir(tmp_path)) == listing  # no temporary file left behind
    if existing:
        assert sha(path) == good
        assert_same_network(fastnet.load(path), old, X)
    else:
        assert not path.exists()
    newer.save(path)  # and a later save works
    assert_same_network(fastnet.load(path), newer, X)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_save_replaces_an_existing_file(tmp_path, backend):
    first, X, y = trained(backend, epochs=2)
    path = first.save(tmp_path / "m.npz")
    second = copy.deepcopy(first).fit(X, y, epochs=3, tol=None)
    second.save(path)
    assert_same_network(fastnet.load(path), second, X)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_saved_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = Network((2, 1)).save(tmp_path / "m.npz")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_into_a_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        Network((2, 1)).save(tmp_path / "missing" / "m.npz")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- optimizer state
OPTIMIZERS = sorted(fastnet.optim.OPTIMIZERS)


def _optimizer(name):
    """A named optimizer with a step size that trains LAYERS' data without diverging."""
    return {"adam": fastnet.optim.Adam(lr=0.01)}.get(name, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_state_survives_save_and_pickle_and_training_continues_exactly(
    tmp_path, backend, dtype, name
):
    X, y = make_data(LAYERS, n=60, dtype=dtype)
    one = Network(LAYERS, loss="log", dtype=dtype, seed=3, backend=backend)
    one.fit(X, y, optimizer=_optimizer(name), epochs=12, tol=None)
    first = Network(LAYERS, loss="log", dtype=dtype, seed=3, backend=backend)
    first.fit(X, y, optimizer=_optimizer(name), epochs=5, tol=None)
    for copy_ in (
        fastnet.load(first.save(tmp_path / "m.npz")),
        pickle.loads(pickle.dumps(first)),
        copy.deepcopy(first),
    ):
        assert copy_.optimizer == first.optimizer and copy_.n_evals_ == first.n_evals_
        for key in ("vec", "scal"):
            assert copy_.optimizer_state[key].dtype == first.optimizer_state[key].dtype
            np.testing.assert_array_equal(copy_.optimizer_state[key], first.optimizer_state[key])
        copy_.fit(X, y, optimizer=_optimizer(name), epochs=7, tol=None)
        # the second half of one 12-epoch fit, bit for bit
        np.testing.assert_array_equal(copy_.history_, one.history_[5:])
        for (Wa, ba), (Wb, bb) in zip(copy_.weights, one.weights, strict=True):
            np.testing.assert_array_equal(Wa, Wb)
            np.testing.assert_array_equal(ba, bb)


def test_a_network_never_trained_saves_no_optimizer(tmp_path):
    net = Network(LAYERS)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        assert str(f["optimizer"]) == "" and f["optimizer_vec"].size == 0
    assert fastnet.load(tmp_path / "m.npz").optimizer is None


def test_version_1_files_still_load(tmp_path):
    net, X, _ = trained("numba", epochs=4)
    path = _rewrite(
        net.save(tmp_path / "m.npz"),
        format_version=np.array(1),
        **{k: None for k in persistence._OPTIMIZER_FIELDS},
    )
    old = fastnet.load(path)
    assert old.optimizer is None and old.optimizer_state["vec"].size == 0
    np.testing.assert_array_equal(old.history_, net.history_)
    np.testing.assert_array_equal(old.predict_proba(X), net.predict_proba(X))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"optimizer": None}, "is missing the fields ['optimizer']"),
        ({"optimizer": np.array("sgd2")}, "invalid optimizer: unknown optimizer 'sgd2'"),
        ({"optimizer_hyper": np.array([0.1])}, "needs 3 hyper-parameters, got 1"),
        ({"optimizer_hyper": np.array([-0.1, 0.9, 0.0])}, "lr must be > 0"),
        ({"optimizer_vec": np.ones(3)}, "the state of Momentum(lr=0.1, momentum=0.9, nesterov"),
        ({"optimizer_scal": np.ones(2)}, "must have 51 + 1 values for 51 parameters, got"),
        ({"optimizer_vec": np.full(51, np.nan)}, "optimizer state contains NaN or infinity"),
        ({"optimizer_vec": np.ones(51, np.float32)}, "'optimizer_vec' must have dtype float64"),
        ({"n_evals": np.array(-1)}, "n_evals must be >= 0"),
    ],
)
def test_inconsistent_optimizer_state_is_rejected(tmp_path, changes, fragment):
    X, y = make_data(LAYERS, n=20)
    net = Network(LAYERS, loss="log").fit(X, y, optimizer="momentum", epochs=2, tol=None)
    path = _rewrite(net.save(tmp_path / "m.npz"), **changes)
    with pytest.raises(ValueError) as info:
        fastnet.load(path)
    assert fragment in str(info.value)


def test_version_2_files_load_as_sigmoid_networks(tmp_path):
    net, X, _ = trained("numba", epochs=4)
    path = _rewrite(net.save(tmp_path / "m.npz"), format_version=np.array(2), output=None)
    old = fastnet.load(path)
    assert old.output == "sigmoid" and old.loss_name == net.loss_name
    np.testing.assert_array_equal(old.predict_proba(X), net.predict_proba(X))


@pytest.mark.parametrize(
    ("loss", "output", "k"),
    [("cross_entropy", "softmax", 3), ("mse", "linear", 2), ("huber", "linear", 1)],
)
def test_softmax_and_linear_networks_round_trip(tmp_path, backend, loss, output, k):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, k, 30) if output == "softmax" else 5 * rng.standard_normal((30, k))
    net = Network((4, 5, k), loss=loss, output=output, backend=backend)
    net.fit(X, y, epochs=5, tol=None, lr=0.1)
    loaded = fastnet.load(net.save(tmp_path / "m.npz"))
    assert (loaded.output, loaded.loss_name) == (output, loss)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(loaded.history_, net.history_)
    again = pickle.loads(pickle.dumps(net))
    assert again.output == output
    loaded.fit(X, y, epochs=3, tol=None, lr=0.1)
    net.fit(X, y, epochs=3, tol=None, lr=0.1)
    np.testing.assert_array_equal(loaded.history_, net.history_)
