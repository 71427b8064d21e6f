"""Issue 13's feature costs on M, measured interleaved: ``python bench/feature_cost.py``.

``test_bench_features.py`` times each feature's ``off`` and ``on`` cases one after the other
(pytest-benchmark runs a case's rounds together), so on a shared machine a drift in the load
between the two shows up as a cost (or a gain) of up to 20 %. This script alternates them round
by round (``off, on`` then ``on, off``), so both see the same load, and prints the median (and
the minimum) ms per epoch of each and their ratio, per feature, loss and dtype.

    flock /tmp/fastnet-bench.lock python bench/feature_cost.py [features] [rounds]

``features``: a comma-separated subset of ``penalty,weights,validation`` (default: all three);
``rounds``: rounds per case (default 25), each a fit of ``EPOCHS`` epochs from the same weights.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from test_bench_features import FEATURES, _options  # noqa: E402

import fastnet  # noqa: E402
from fastnet.data import WORKLOADS, workload_data  # noqa: E402

EPOCHS = 30


def _fit(problem, options, epochs=EPOCHS) -> float:
    """ms per epoch of one fit from the problem's initial weights."""
    X, y, weights, loss, dtype, lr = problem
    net = fastnet.Network.from_weights(weights, loss=loss, dtype=dtype)
    t = time.perf_counter()
    net.fit(X, y, lr=lr, epochs=epochs, tol=None, **options)
    return (time.perf_counter() - t) / epochs * 1e3


def main(features: tuple[str, ...] = FEATURES, rounds: int = 25) -> None:
    w = WORKLOADS["M"]
    print(f"M workload, {EPOCHS} epochs per fit, {rounds} interleaved rounds per case")
    for dtype in (np.float64, np.float32):
        X, y, weights = workload_data(w, dtype)
        for loss in ("mse", "log"):
            for feature in features:
                cases = {"off": {}, "on": _options(feature, X, y, dtype)}
                problem = (X, y, weights, loss, dtype, w.lr)
                for options in cases.values():  # compile or load, untimed
                    _fit(problem, options, epochs=2)
                times = {"off": [], "on": []}
                for r in range(rounds):
                    for name in ("off", "on") if r % 2 else ("on", "off"):
                        times[name].append(_fit(problem, cases[name]))
                off, on = np.median(times["off"]), np.median(times["on"])
                low_off, low_on = min(times["off"]), min(times["on"])
                print(f"{feature:<10} {loss:<4} {np.dtype(dtype).name:<8} off {off:7.3f}  "
                      f"on {on:7.3f} ms/epoch  ratio {on / off:.3f}  (minima: ratio "
                      f"{low_on / low_off:.3f})", flush=True)  # fmt: skip


if __name__ == "__main__":
    chosen = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else FEATURES
    main(chosen, int(sys.argv[2]) if len(sys.argv) > 2 else 25)
