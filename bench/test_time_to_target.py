"""Time to target: every optimizer (``fastnet.convergence.METHODS``) to a fixed training loss.

``pytest bench/test_time_to_target.py --benchmark-only`` times, per problem, loss and dtype,
the run of exactly the epochs (iterations) that first get the training loss below the problem's
target; every method of one case shares the pytest-benchmark group
``"ttt|{problem}|{loss}|{dtype}"`` and records its epochs and evaluations in ``extra_info``
(``python -m fastnet bench --from`` the ``--benchmark-json`` file prints the tables). ``-m "not
slow"`` leaves out L and Deep. A method that does not reach the target within the problem's
cap is skipped with its last loss; one that cannot train a case (scikit-learn: mse; FANN: log,
float32) or is not installed is skipped with the reason.

The default ``pytest`` run (benchmarks disabled) runs every method on S with both losses and
dtypes and on each other problem with one of them (``SMOKE_COMBOS``), on ``SMOKE_ROWS`` rows for
at most ``SMOKE_EPOCHS`` epochs, with a target that the method's own first epochs reach, and
checks that the run of exactly those epochs follows the searched trajectory: the judge's loss
of its weights equals the searched loss at that epoch.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from fastnet.benchmarks import dtype_name
from fastnet.convergence import (
    METHODS,
    PROBLEMS,
    SLOW_PROBLEMS,
    cases,
    judge_loss,
    smoke_problem,
    unavailable,
)

#: Agreement of the timed run's final loss with the searched loss at the same epoch (FANN
#: keeps its MSE in a C float whatever its fann_type).
RTOL = {"float64": 1e-7, "float32": 1e-3, "fann-rprop": 1e-5}

CASES = [
    pytest.param(
        *(problem, loss, dtype, method),
        id=f"{problem}-{loss}-{dtype_name(dtype)}-{method}",
        marks=[pytest.mark.slow] if problem in SLOW_PROBLEMS else [],
    )
    for problem, loss, dtype in cases()
    for method in METHODS
]


#: The smoke pass runs every method on S in every loss and dtype, and on each other problem
#: (other layer shapes) in one: the first it can train in this rotation, started at the
#: problem's place in PROBLEMS.
SMOKE_COMBOS = [
    (loss, dtype_name(dt)) for loss in ("log", "mse") for dt in (np.float64, np.float32)
]
SMOKE_FULL = "S"


def _smoke_skip(problem: str, loss: str, dtype, method: str) -> str | None:
    """Why the smoke pass leaves this case out (another covers it), or None."""
    if problem == SMOKE_FULL:
        return None
    start = list(PROBLEMS).index(problem)
    for i in range(len(SMOKE_COMBOS)):
        combo = SMOKE_COMBOS[(start + i) % len(SMOKE_COMBOS)]
        if unavailable(method, *combo) is None:
            break
    if combo == (loss, dtype_name(dtype)):
        return None
    return f"smoke pass: {method} runs on {problem} with {combo[0]} {combo[1]} only"


def _smoke_target(history: np.ndarray) -> float | None:
    """A target the method's own smoke run reaches after at least one epoch, or None: just
    above its lowest loss (by more than the judge's rounding differences)."""
    target = 1.001 * history[1:].min() if len(history) > 1 else math.inf
    return float(target) if target < history[0] else None


@pytest.mark.parametrize(("problem", "loss", "dtype", "method"), CASES)
def test_time_to_target(benchmark, smoke, threads, problem, loss, dtype, method):
    reason = unavailable(method, loss, dtype)
    if reason:
        pytest.skip(reason)
    if smoke and _smoke_skip(problem, loss, dtype, method):
        pytest.skip(_smoke_skip(problem, loss, dtype, method))
    if smoke:  # 200 rows need one thread (torch takes numba's count; ``threads`` restores it)
        numba.set_num_threads(1)
    p = smoke_problem(PROBLEMS[problem]) if smoke else PROBLEMS[problem]
    runner = METHODS[method](p, loss, dtype)  # data and initial weights: never timed
    runner.train(1)  # warm-up: compilation, caches
    if smoke:  # one search of all the smoke epochs, and a target it reached
        history, stop = runner.search(p.max_epochs, -math.inf)
        assert 1 <= len(history) <= p.max_epochs and np.isfinite(history).all()
        target = _smoke_target(history)
        if target is None:
            pytest.skip(f"{method} did not lower the loss in {p.max_epochs} smoke epochs")
        trace = runner.check(history, target, stop)
    else:  # the search for k and one untimed train(k): not timed
        trace = runner.run()
    assert np.isfinite(trace.history).all()
    if not trace.reached:
        pytest.skip(
            f"{method} did not reach {trace.target:g} in {len(trace.history)} epochs "
            f"({trace.stop}, loss {trace.history[-1]:.4g})"
        )
    benchmark.group = f"ttt|{problem}|{loss}|{dtype_name(dtype)}"
    benchmark.extra_info.update(
        method=method, problem=problem, loss=loss, dtype=dtype_name(dtype), target=trace.target,
        epochs=trace.epochs, evals=trace.evals, initial_loss=float(trace.history[0]),
        last_loss=float(trace.history[-1]), searched=len(trace.history),
        final_loss=trace.final_loss, n=p.n,
    )  # fmt: skip
    benchmark.pedantic(runner.train, args=(trace.epochs,), setup=runner.reset, rounds=p.rounds)

    assert trace.final_loss < trace.target
    assert trace.evals is None or trace.evals >= trace.epochs
    # The timed run is the searched trajectory: same loss after the same epochs.
    final = judge_loss(runner.weights(), p, loss, dtype)
    rtol = max(RTOL[dtype_name(dtype)], RTOL.get(method, 0))
    assert final == pytest.approx(trace.history[trace.epochs], rel=rtol)
