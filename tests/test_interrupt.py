"""Ctrl-C during ``fit``: training stops at the end of the running block (at most about 0.1 s
of compiled work), the network describes exactly the epochs it applied, and the
``KeyboardInterrupt`` reaches the caller."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from conftest import make_data

from fastnet import Network

LAYERS = (5, 8, 1)


@pytest.mark.parametrize("optimizer", ["gd", "adam", "rprop"])
def test_ctrl_c_stops_a_long_fit_with_a_consistent_record(backend, optimizer):
    X, y = make_data(LAYERS, n=300)
    net = Network(LAYERS, loss="log")
    start = net.weights
    net.fit(X, y, optimizer=optimizer, epochs=2, tol=None)  # compiled before the clock starts
    net = Network.from_weights(start, loss="log", backend=backend)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    began = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="training interrupted after"):
            net.fit(X, y, optimizer=optimizer, epochs=10**9, tol=None)
    finally:
        timer.cancel()
    assert time.perf_counter() - began < 5  # blocks of ~0.1 s, not 10**9 epochs
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert 0 < net.n_epochs_ == len(net.history_) == net.n_evals_
    # the weights are exactly those of n_epochs_ epochs, and the optimizer's state with them
    replay = Network.from_weights(start, loss="log", backend=backend)
    replay.fit(X, y, optimizer=optimizer, epochs=net.n_epochs_, tol=None)
    np.testing.assert_array_equal(net.history_, replay.history_)
    for (W, b), (W0, b0) in zip(net.weights, replay.weights, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(net.optimizer_state["vec"], replay.optimizer_state["vec"])


def test_a_fit_outside_the_main_thread_is_left_to_its_thread():
    X, y = make_data(LAYERS, n=50)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(Network(LAYERS).fit(X, y, epochs=20, tol=None).n_epochs_)
    )
    worker.start()
    worker.join()
    assert results == [20]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


_CHILD = """
import sys, time
import numpy as np
from fastnet import Network
from fastnet.data import classification

X, y = classification(20_000, 32, np.float64)
net = Network((32, 64, 1), loss="log", seed=0)
net.fit(X, y, optimizer="adam", epochs=1, tol=None)  # compile (this size's variant) first
net = Network((32, 64, 1), loss="log", seed=0)
print("training", flush=True)
try:
    net.fit(X, y, optimizer="adam", epochs=10**9, tol=None)
except KeyboardInterrupt:
    print("interrupted", net.n_epochs_, flush=True)
    net.save(sys.argv[1])
"""


def test_sigint_stops_a_long_fit_in_a_subprocess_and_the_saved_state_continues(tmp_path):
    """Issue 14's acceptance: Ctrl-C stops within 0.5 s, and the file saved afterwards goes on
    bit for bit like one uninterrupted fit of the same total epochs."""
    import subprocess
    import sys

    from fastnet import load
    from fastnet.data import classification

    path = tmp_path / "interrupted.npz"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "training"
        time.sleep(1.0)  # well into the fit: blocks of ~0.1 s of compiled work
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        stopped = time.perf_counter() - sent
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
    assert line[0] == "interrupted"
    assert stopped < 0.5, f"the fit took {stopped:.2f} s to stop"
    done = int(line[1])
    assert done > 0
    X, y = classification(20_000, 32, np.float64)
    resumed = load(path)
    assert resumed.n_epochs_ == done
    resumed.fit(X, y, optimizer="adam", epochs=5, tol=None)  # the same Adam: its state goes on
    straight = Network((32, 64, 1), loss="log", seed=0)
    straight.fit(X, y, optimizer="adam", epochs=done + 5, tol=None)
    np.testing.assert_array_equal(resumed.history_, straight.history_[done:])
    for (W, b), (W0, b0) in zip(resumed.weights, straight.weights, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
