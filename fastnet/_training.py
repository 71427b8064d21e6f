"""The one training driver: blocks of epochs, callbacks, progress, ``history_``, divergence.

Every backend (``fastnet.backends``) and every optimizer (``fastnet.optim``) goes through
``drive``: a backend's runner computes a block of epochs, and ``drive`` decides the blocks,
calls the callback and the progress bar between them, and reports what was applied.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .backends import CONVERGED, DIVERGED, RAN_ALL

Run = Callable[[int, np.ndarray], tuple[int, int]]

#: Without ``block_epochs``, the first compiled call runs ``FIRST_BLOCK_EPOCHS`` epochs, and
#: each later one as many epochs as take about ``BLOCK_SECONDS`` at the measured pace: Python
#: then runs a few times a second (for the callback, the progress bar and Ctrl-C), and its
#: share of the time stays well under 1 % whatever the size of the problem.
FIRST_BLOCK_EPOCHS = 10
BLOCK_SECONDS = 0.1


class DivergedError(FloatingPointError):
    """Training made the loss or a weight non-finite; the network keeps its last finite weights."""


@dataclass
class Outcome:
    """What a call of ``drive`` applied: the losses, the epochs and how it stopped."""

    history: np.ndarray
    epochs: int
    status: int

    @property
    def converged(self) -> bool:
        return self.status == CONVERGED


def drive(
    run: Run,
    epochs: int,
    dtype: np.dtype,
    *,
    callback: Callable[[int, float], object] | None,
    progress: bool,
    block_epochs: int | None,
    record: Callable[[Outcome], None],
    describe: object,
) -> Outcome:
    """Run up to ``epochs`` epochs of ``run`` in blocks; ``record(outcome)`` always runs, also
    when a block raises (then ``outcome`` describes the epochs applied before it). ``run``'s
    ``close()``, if it has one, is called once training ends.

    Ctrl-C (SIGINT, in the main thread) during a block is held until the block ends: training
    stops there, ``record`` describes every epoch applied, and ``KeyboardInterrupt`` is raised.
    A second Ctrl-C interrupts at once, as Python normally does.

    Raises ``DivergedError`` (after ``record``) when the runner reports divergence;
    ``str(describe)`` (formatted only then) names the optimizer in its message.
    """
    adaptive = block_epochs is None
    if block_epochs is None:
        block_epochs = FIRST_BLOCK_EPOCHS
    hist = np.empty(epochs, dtype)
    bar = _progress_bar(epochs) if progress else None
    done, status = 0, RAN_ALL
    with _held_interrupts() as interrupted:
        try:
            while done < epochs and status == RAN_ALL and not interrupted():
                todo = min(block_epochs, epochs - done)
                started = time.perf_counter()
                try:
                    ran, status = run(todo, hist[done : done + todo])
                except RuntimeError as exc:  # a runner that failed part-way says how far it got
                    done += getattr(exc, "epochs_run", 0)
                    raise
                if adaptive and ran:  # aim at BLOCK_SECONDS of compiled work per block
                    per_epoch = max(time.perf_counter() - started, 1e-9) / ran
                    block_epochs = max(1, int(BLOCK_SECONDS / per_epoch))
                done += ran
                if bar is not None:
                    bar.update(ran)
                    if done:
                        bar.set_postfix(loss=f"{hist[done - 1]:.6g}")
                if callback is not None and done and status == RAN_ALL:
                    if callback(done, float(hist[done - 1])) is True:
                        break
        finally:  # also when a runner raises: the record describes the epochs applied
            close = getattr(run, "close", None)
            if close is not None:  # the runner's buffers go back to their pool
                close()
            if bar is not None:
                bar.close()
            outcome = Outcome(hist[:done].copy(), done, status)
            record(outcome)
        if interrupted():
            raise KeyboardInterrupt(f"training interrupted after {done} epochs")
    if status == DIVERGED:
        raise DivergedError(
            f"training diverged after {done} epochs: the loss or an updated weight became "
            f"non-finite with {describe}. "
            "The network keeps the weights of its last finite step; try a smaller lr "
            "(step size)"
        )
    return outcome


@contextmanager
def _held_interrupts() -> Iterator[Callable[[], bool]]:
    """Hold SIGINT until the caller asks ``interrupted()`` (a second one raises at once).

    Only in the main thread (where Python delivers signals), and only when SIGINT has Python's
    default handler: one that someone installed is left alone.
    """
    pressed = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: False
        return

    def hold(signum, frame):
        if pressed:  # the second Ctrl-C: do not wait for the block
            raise KeyboardInterrupt
        pressed.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _progress_bar(total: int):
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "progress=True needs tqdm: pip install 'fastnet-numba[progress]'"
        ) from exc
    return tqdm(total=total, unit="epoch", leave=False)
