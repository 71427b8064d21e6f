"""Per-epoch cost of ``fastnet.distributed`` on a local two-worker Dask cluster vs a local fit.

Each case fits the same data locally and on the cluster (numba kernels on both; two cores in
total either way: two workers with one numba thread each, or one process with two threads), and
records the median wall time between two consecutive epochs (set-up, compilation and the
partitions' preparation excluded) of each, and their difference: the fixed cost per epoch of
the Dask round trip. ``pytest bench/test_bench_distributed.py --benchmark-only -s`` prints a
table; pytest-benchmark times the whole distributed fit (set-up included). Without
``--benchmark-only`` each case runs once on small data, as a smoke test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fastnet import Network
from fastnet.data import classification, initial_weights

da = pytest.importorskip("dask.array", reason="needs the dask extra: pip install '.[dask]'")
distributed = pytest.importorskip(
    "distributed", reason="needs the dask extra: pip install '.[dask]'"
)

LAYERS = (32, 64, 1)  # the M network of docs/design.md section 4
LR = 0.5
PARTITIONS = 4  # two per worker
#: Epochs per fit, by rows: enough intervals for a median, few enough to keep the run short.
EPOCHS = {20_000: 20, 200_000: 10, 2_000_000: 6}
SMOKE_ROWS, SMOKE_EPOCHS = 2_000, 3

SIZES = [
    pytest.param(20_000, id="20k"),
    pytest.param(200_000, id="200k", marks=pytest.mark.slow),
    pytest.param(2_000_000, id="2M", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def client():
    # Every listener on loopback: a dashboard address of ":0" would bind all interfaces.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster, distributed.Client(cluster) as c:  # fmt: skip
        yield c


def fit_timed(X, y, epochs):
    """Fit from the workload's initial weights; returns the network and its epoch intervals."""
    stamps = []
    net = Network.from_weights(initial_weights(LAYERS), loss="log")
    net.fit(X, y, lr=LR, epochs=epochs, tol=None, block_epochs=1,
            callback=lambda done, loss: stamps.append(time.perf_counter()))  # fmt: skip
    return net, np.diff(stamps)


@pytest.mark.parametrize("n", SIZES)
def test_distributed_epoch_overhead(benchmark, smoke, client, n):
    n, epochs = (SMOKE_ROWS, SMOKE_EPOCHS) if smoke else (n, EPOCHS[n])
    X, y = classification(n, LAYERS[0])
    Xd = da.from_array(X, chunks=(-(-n // PARTITIONS), -1))
    yd = da.from_array(y, chunks=Xd.chunks[0])

    local, local_gaps = fit_timed(X, y, epochs)
    net, dask_gaps = benchmark.pedantic(fit_timed, args=(Xd, yd, epochs), rounds=1)

    np.testing.assert_allclose(net.history_, local.history_, rtol=1e-10)
    ms_local, ms_dask = 1e3 * np.median(local_gaps), 1e3 * np.median(dask_gaps)
    benchmark.group = "distributed"
    benchmark.extra_info.update(
        n=n, partitions=PARTITIONS, epochs=epochs, local_ms_per_epoch=ms_local,
        dask_ms_per_epoch=ms_dask, overhead_ms_per_epoch=ms_dask - ms_local,
    )  # fmt: skip
    print(
        f"\nn={n:>9,} partitions={PARTITIONS} local {ms_local:9.1f} ms/epoch   "
        f"dask {ms_dask:9.1f} ms/epoch   overhead {ms_dask - ms_local:+8.1f} ms/epoch"
    )
