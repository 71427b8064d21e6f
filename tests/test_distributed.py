"""``fastnet.distributed``: training on a local two-worker Dask cluster equals a local fit."""

import contextlib
import os
import signal

import numba
import numpy as np
import pytest
from conftest import LOSSES, make_data
from numba.core.dispatcher import Dispatcher

da = pytest.importorskip("dask.array", reason="needs the dask extra: pip install '.[dask]'")
distributed = pytest.importorskip(
    "distributed", reason="needs the dask extra: pip install '.[dask]'"
)

import fastnet.distributed  # noqa: E402  (after the skips: it needs dask)
import fastnet.losses  # noqa: E402
from fastnet import DivergedError, Network, _kernels  # noqa: E402

LAYERS = (5, 8, 1)
N, CHUNK = 1000, 300  # four partitions: 300, 300, 300, 100 rows


@contextlib.contextmanager
def local_cluster_client(**client_kwargs):
    # Every listener on loopback: a dashboard address of ":0" would bind all interfaces.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster, distributed.Client(cluster, **client_kwargs) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def client():
    with local_cluster_client() as c:
        yield c


def dask_data(layers=LAYERS, dtype=np.float64, n=N, chunk=CHUNK):
    X, y = make_data(layers, n=n, dtype=dtype)
    return X, y, da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)


def assert_same_weights(net, expected, rtol):
    """Every layer's largest difference is at most ``rtol`` times its largest entry."""
    for (W, b), (W0, b0) in zip(net.weights, expected.weights, strict=True):
        assert W.dtype == W0.dtype
        scale = max(np.abs(W0).max(), np.abs(b0).max())
        assert np.abs(W - W0).max() <= rtol * scale
        assert np.abs(b - b0).max() <= rtol * scale


@pytest.mark.parametrize("loss", LOSSES)
def test_fit_equals_a_local_fit_of_the_same_data(client, loss):
    X, y, Xd, yd = dask_data()
    assert Xd.numblocks[0] >= 4 and len(client.scheduler_info()["workers"]) == 2
    local = Network(LAYERS, loss=loss).fit(X, y, epochs=20, tol=None)
    net = Network(LAYERS, loss=loss)
    with distributed.get_task_stream(client) as tasks:
        fastnet.distributed.fit(net, Xd, yd, client, epochs=20, tol=None)
    assert net.n_epochs_ == 20 and not net.converged_
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-12)
    assert_same_weights(net, local, rtol=1e-10)
    # the partitions' gradients were really computed on both workers
    ran_on = {t["worker"] for t in tasks.data if str(t["key"]).startswith("_partition_sums")}
    assert len(ran_on) == 2


def test_float32_fit_stays_float32_and_equals_a_local_fit(client):
    X, y, Xd, yd = dask_data(dtype=np.float32)
    local = Network(LAYERS, loss="log", dtype=np.float32).fit(X, y, epochs=20, tol=None)
    net = Network(LAYERS, loss="log", dtype=np.float32)
    fastnet.distributed.fit(net, Xd, yd, client, epochs=20, tol=None)
    assert net.history_.dtype == np.float32
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-5)
    assert_same_weights(net, local, rtol=1e-4)


def test_network_fit_on_dask_arrays_stops_at_the_same_epoch_as_a_local_fit(client):
    X, y, Xd, _ = dask_data()
    kwargs = dict(lr=0.5, epochs=300, tol=1e-2, n_iter_no_change=3)
    local = Network(LAYERS, loss="log").fit(X, y, **kwargs)
    net = Network(LAYERS, loss="log").fit(Xd, y, **kwargs)  # X on dask: the distributed path
    assert local.converged_ and net.converged_
    assert net.n_epochs_ == local.n_epochs_ < 300
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-12)
    assert_same_weights(net, local, rtol=1e-10)


def test_callback_runs_every_block_of_epochs_and_can_stop_training(client):
    X, y, Xd, yd = dask_data()
    calls = []

    def stop_after_7(done, loss):
        calls.append((done, loss))
        return done >= 7

    kwargs = dict(epochs=100, tol=None, callback=stop_after_7, block_epochs=3)
    local = Network(LAYERS).fit(X, y, **kwargs)
    net = Network(LAYERS).fit(Xd, yd, **kwargs)
    assert [done for done, _ in calls] == [3, 6, 9] * 2
    np.testing.assert_allclose([loss for _, loss in calls[3:]], net.history_[2::3], rtol=0)
    assert net.n_epochs_ == local.n_epochs_ == 9
    assert_same_weights(net, local, rtol=1e-10)


@pytest.mark.parametrize(
    ("dtype", "lr", "rtol"), [(np.float64, 1e307, 1e-10), (np.float32, 1e36, 1e-4)]
)
def test_divergence_raises_and_keeps_the_same_weights_as_a_local_fit(client, dtype, lr, rtol):
    X, y, Xd, yd = dask_data(dtype=dtype)
    local = Network(LAYERS, loss="log", dtype=dtype)
    with pytest.raises(DivergedError):
        local.fit(X, y, lr=lr, epochs=20, tol=None)
    net = Network(LAYERS, loss="log", dtype=dtype)
    with pytest.raises(DivergedError, match="training diverged after"):
        net.fit(Xd, yd, lr=lr, epochs=20, tol=None)
    assert net.n_epochs_ == local.n_epochs_ < 20 and not net.converged_
    np.testing.assert_allclose(net.history_, local.history_, rtol=rtol)
    assert_same_weights(net, local, rtol=rtol)


@pytest.mark.parametrize("layers", [LAYERS, (5, 8, 2)])
def test_predictions_on_dask_arrays_are_lazy_dask_arrays(client, layers):
    X, _, Xd, _ = dask_data(layers)
    net = Network(layers, seed=3)
    expected = net.predict_proba(X)
    proba = net.predict_proba(Xd)
    labels = net.predict(Xd)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.shape == expected.shape and proba.chunks[0] == Xd.chunks[0]
    net.fit(X, expected > 0.5, epochs=5)  # the prediction used the weights of its call
    np.testing.assert_allclose(proba.compute(), expected, rtol=1e-12)
    np.testing.assert_array_equal(labels.compute(), (expected >= 0.5).astype(np.int64))


def test_invalid_data_is_reported_with_the_local_messages(client):
    X, y, Xd, yd = dask_data()
    net = Network(LAYERS, loss="log")
    with pytest.raises(ValueError, match="y has 999 samples but X has 1000"):
        net.fit(Xd, yd[:-1])
    with pytest.raises(ValueError, match="network expects 5"):
        net.fit(Xd[:, :4], yd)
    bad = X.copy()
    bad[650, 2] = np.nan  # in the third partition: checked on a worker
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(da.from_array(bad, chunks=(CHUNK, -1)), yd)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        net.fit(Xd, 2 * yd)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        net.fit(Xd[Xd[:, 0] > 0], yd[Xd[:, 0] > 0])
    assert net.n_epochs_ == 0  # nothing was trained


def test_each_worker_runs_numba_on_its_share_of_the_cores(client):
    X, y, Xd, yd = dask_data()
    fastnet.distributed.fit(Network(LAYERS), Xd, yd, client, epochs=2)
    # one task thread per worker: it keeps the thread count the fit's tasks set
    threads = {
        addr: client.submit(numba.get_num_threads, workers=[addr], pure=False).result()
        for addr in client.scheduler_info()["workers"]
    }
    assert set(threads.values()) == {max(1, numba.config.NUMBA_NUM_THREADS // 2)}


def _kernel_cache_stats():
    """Numba's disk-cache hits and misses (compilations) of every kernel in this process."""
    kernels = [k for k in vars(_kernels).values() if isinstance(k, Dispatcher)]
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    return hits, sum(sum(k.stats.cache_misses.values()) for k in kernels)


def test_fresh_workers_load_the_kernels_from_the_disk_cache(client):
    X, y, Xd, yd = dask_data()
    Network(LAYERS).gradients(X, y)  # the disk cache now holds the float64 gradient kernel
    client.restart()  # fresh worker processes
    fastnet.distributed.fit(Network(LAYERS), Xd, yd, client, epochs=2)
    stats = client.run(_kernel_cache_stats)
    assert len(stats) == 2
    assert all(hits >= 1 and misses == 0 for hits, misses in stats.values())


def _exit_in_loss_grad():
    """Make this worker process die in the middle of its next gradient task."""
    fastnet.distributed._loss_grad = lambda *args: os._exit(1)


def a_worker_holding_a_partition(client):
    held = client.has_what()
    return next(w for w in sorted(held) if any(str(k).startswith("_prepare") for k in held[w]))


def test_a_worker_dying_mid_epoch_is_recovered_with_the_same_result(client):
    X, y, Xd, yd = dask_data()
    local = Network(LAYERS, loss="log").fit(X, y, epochs=10, tol=None)
    killed = []

    def kill_in_epoch_5(done, loss):
        if done == 4:
            killed.append(a_worker_holding_a_partition(client))
            client.run(_exit_in_loss_grad, workers=killed)

    net = Network(LAYERS, loss="log")
    net.fit(Xd, yd, epochs=10, tol=None, callback=kill_in_epoch_5, block_epochs=1)
    assert killed[0] not in client.scheduler_info()["workers"]  # it did die
    assert net.n_epochs_ == 10
    assert_same_weights(net, local, rtol=1e-10)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it


def test_a_worker_killed_between_epochs_is_recovered_with_the_same_result(client):
    X, y, Xd, yd = dask_data()
    local = Network(LAYERS).fit(X, y, epochs=10, tol=None)
    pids = client.run(os.getpid)
    killed = []

    def kill_after_epoch_4(done, loss):
        if done == 4:
            killed.append(a_worker_holding_a_partition(client))
            os.kill(pids[killed[0]], signal.SIGKILL)

    net = Network(LAYERS)
    net.fit(Xd, yd, epochs=10, tol=None, callback=kill_after_epoch_4, block_epochs=1)
    assert killed[0] not in client.scheduler_info()["workers"]
    assert net.n_epochs_ == 10
    assert_same_weights(net, local, rtol=1e-10)
    client.wait_for_workers(2, timeout=60)


@pytest.fixture
def doomed_client():
    """A second cluster, whose workers a test may kill all at once (not the current client)."""
    with local_cluster_client(set_as_default=False) as c:
        yield c


def test_losing_data_that_cannot_be_recomputed_is_a_clear_error_and_keeps_the_weights(
    doomed_client,
):
    X, y, _, yd = dask_data()
    # X's blocks were scattered: they have no lineage, so once every worker died they are gone
    starts = range(0, N, CHUNK)
    blocks = doomed_client.scatter([X[i : i + CHUNK] for i in starts])
    Xd = da.concatenate(
        [
            da.from_delayed(b, X[i : i + CHUNK].shape, X.dtype)
            for b, i in zip(blocks, starts, strict=True)
        ]
    )
    pids = doomed_client.run(os.getpid)

    def kill_all_after_epoch_4(done, loss):
        if done == 4:
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)

    net = Network(LAYERS)
    with pytest.raises(RuntimeError, match="epoch 5 failed: the Dask cluster lost"):
        fastnet.distributed.fit(net, Xd, yd, doomed_client, epochs=10, tol=None,
                                callback=kill_all_after_epoch_4, block_epochs=1)  # fmt: skip
    local = Network(LAYERS).fit(X, y, epochs=4, tol=None)
    assert net.n_epochs_ == 4
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-12)
    assert_same_weights(net, local, rtol=1e-10)


def test_a_failure_in_the_middle_of_a_block_keeps_the_history_of_the_epochs_applied(
    client, monkeypatch
):
    # No callback: all 10 epochs are one block, and the 5th round trip fails.
    from concurrent.futures import CancelledError

    X, y, Xd, yd = dask_data()
    real = fastnet.distributed._epoch_sums
    calls = []

    def fails_fifth_time(*args):
        calls.append(1)
        if len(calls) == 5:
            raise CancelledError("lost")
        return real(*args)

    monkeypatch.setattr(fastnet.distributed, "_epoch_sums", fails_fifth_time)
    net = Network(LAYERS)
    with pytest.raises(RuntimeError, match="epoch 5 failed: the Dask cluster lost"):
        net.fit(Xd, yd, epochs=10, tol=None)
    local = Network(LAYERS).fit(X, y, epochs=4, tol=None)
    assert net.n_epochs_ == 4
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-12)
    assert_same_weights(net, local, rtol=1e-10)


# ---------------------------------------------------------------------- every optimizer
OPTIMIZERS = {
    "gd": "gd",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "adam": fastnet.optim.Adam(lr=0.01),
    "rprop": "rprop",
    "lbfgs": "lbfgs",
}


def test_every_optimizer_is_tested_on_dask():
    assert set(OPTIMIZERS) == set(fastnet.optim.OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("loss", LOSSES)
def test_every_optimizer_on_dask_equals_a_local_fit(client, name, loss):
    # L-BFGS over its first 15 iterations: its line search amplifies last-bit differences
    # (the partitions' sums are added in another order than the local chunks') after that.
    epochs = 15 if name == "lbfgs" else 40
    X, y, Xd, yd = dask_data()
    opt = OPTIMIZERS[name]
    local = Network(LAYERS, loss=loss).fit(X, y, optimizer=opt, epochs=epochs, tol=None)
    net = Network(LAYERS, loss=loss)
    fastnet.distributed.fit(net, Xd, yd, client, optimizer=opt, epochs=epochs, tol=None)
    assert net.n_epochs_ == local.n_epochs_ and net.n_evals_ == local.n_evals_
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
    assert_same_weights(net, local, rtol=1e-10)
    assert net.optimizer == local.optimizer
    np.testing.assert_allclose(
        net.optimizer_state["vec"], local.optimizer_state["vec"], rtol=1e-8, atol=1e-12
    )


def test_lbfgs_on_dask_survives_a_killed_worker(client):
    X, y, Xd, yd = dask_data()
    local = Network(LAYERS, loss="log").fit(X, y, optimizer="lbfgs", epochs=8, tol=None)
    pids = client.run(os.getpid)
    killed = []

    def kill_after_iteration_3(done, loss):
        if done == 3:
            victim = a_worker_holding_a_partition(client)
            killed.append(victim)
            os.kill(pids[victim], signal.SIGKILL)

    net = Network(LAYERS, loss="log")
    net.fit(Xd, yd, optimizer="lbfgs", epochs=8, tol=None, callback=kill_after_iteration_3,
            block_epochs=1)  # fmt: skip
    assert killed and net.n_epochs_ == 8
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
    assert_same_weights(net, local, rtol=1e-10)
    client.wait_for_workers(2, timeout=60)


def _pair_data(loss, output, k, dtype=np.float64):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((N, LAYERS[0])).astype(dtype)
    if output == "softmax":
        y = rng.integers(0, k, N)
    elif output == "linear":
        y = (rng.standard_normal((N, k)) * (0.3 if loss == "huber" else 2.0) + 1).astype(dtype)
    else:
        y = (rng.random((N, k)) < 0.5).astype(dtype)
    y = y[:, 0] if y.ndim == 2 and k == 1 else y
    chunks = CHUNK if y.ndim == 1 else (CHUNK, -1)
    return X, y, da.from_array(X, chunks=(CHUNK, -1)), da.from_array(y, chunks=chunks)


OUTPUT_PAIRS = [
    (name, out) for name, by_output in fastnet.losses.LOSSES.items() for out in by_output
]


@pytest.mark.parametrize(("loss", "output"), OUTPUT_PAIRS)
@pytest.mark.parametrize("name", ["gd", "adam", "lbfgs"])
def test_every_output_and_loss_on_dask_equals_a_local_fit(client, loss, output, name):
    k = 3 if output == "softmax" else 2
    layers = (LAYERS[0], 6, k)
    X, y, Xd, yd = _pair_data(loss, output, k)
    epochs = 10 if name == "lbfgs" else 30
    kw = dict(optimizer=name, epochs=epochs, tol=None)
    if name == "gd":
        kw["lr"] = 0.05
    local = Network(layers, loss=loss, output=output).fit(X, y, **kw)
    net = Network(layers, loss=loss, output=output)
    fastnet.distributed.fit(net, Xd, yd, client, **kw)
    assert net.n_epochs_ == local.n_epochs_ == epochs
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
    assert_same_weights(net, local, rtol=1e-10)
    assert local.history_[-1] < local.history_[0]
    np.testing.assert_allclose(net.predict_proba(Xd).compute(), local.predict_proba(X),
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize(("loss", "output"), [("cross_entropy", "softmax"), ("mse", "linear")])
def test_float32_softmax_and_linear_on_dask_equal_a_local_fit(client, loss, output):
    k = 3
    layers = (LAYERS[0], 6, k)
    X, y, Xd, yd = _pair_data(loss, output, k, dtype=np.float32)
    kw = dict(lr=0.05, epochs=20, tol=None)
    local = Network(layers, loss=loss, output=output, dtype=np.float32).fit(X, y, **kw)
    net = Network(layers, loss=loss, output=output, dtype=np.float32).fit(Xd, yd, **kw)
    assert net.history_.dtype == np.float32
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-5)
    assert_same_weights(net, local, rtol=1e-4)


# ---------------------------------------------------------------------- weights and penalty
@pytest.mark.parametrize(("loss", "output"), OUTPUT_PAIRS)
def test_sample_weight_and_alpha_on_dask_equal_a_local_fit(client, loss, output):
    k = 3 if output == "softmax" else 2
    layers = (LAYERS[0], 6, k)
    X, y, Xd, yd = _pair_data(loss, output, k)
    w = np.random.default_rng(5).uniform(0, 2, N)
    w[300:600] = 0.0  # one whole partition weighs nothing
    kw = dict(optimizer="adam", epochs=25, tol=None, alpha=0.3)
    local = Network(layers, loss=loss, output=output).fit(X, y, sample_weight=w, **kw)
    net = Network(layers, loss=loss, output=output)
    fastnet.distributed.fit(net, Xd, yd, client, sample_weight=da.from_array(w, chunks=200),
                            **kw)  # fmt: skip
    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
    assert_same_weights(net, local, rtol=1e-10)
    numpy_w = Network(layers, loss=loss, output=output).fit(Xd, yd, sample_weight=w, **kw)
    np.testing.assert_allclose(numpy_w.history_, local.history_, rtol=1e-10)


def test_bad_sample_weights_on_dask_are_named(client):
    X, y, Xd, yd = dask_data()
    net = Network(LAYERS, loss="log")
    with pytest.raises(ValueError, match="sample_weight has 999 values but X has 1000"):
        net.fit(Xd, yd, sample_weight=np.ones(999))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        net.fit(Xd, yd, sample_weight=-np.ones(N))
    with pytest.raises(ValueError, match="sample_weight is all zero"):
        net.fit(Xd, yd, sample_weight=np.zeros(N))
    assert net.n_epochs_ == 0


def test_a_registered_loss_trains_on_the_workers(client):
    from _focal import focal, focal_reference

    fastnet.register_loss("focal_dask", focal, reference=focal_reference,
                          needs_unit_targets=True)  # fmt: skip
    try:
        X, y, Xd, yd = dask_data()
        w = np.random.default_rng(2).uniform(0, 2, N)
        kw = dict(epochs=15, tol=None, sample_weight=w, alpha=0.1)
        local = Network(LAYERS, loss="focal_dask").fit(X, y, **kw)
        net = Network(LAYERS, loss="focal_dask").fit(Xd, yd, **kw)
        np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
        assert_same_weights(net, local, rtol=1e-10)
    finally:
        fastnet.unregister_loss("focal_dask")
