"""Time to target: how long each optimizer, ours and its peers', takes to train a model whose
training loss is below a fixed target. Behind ``bench/test_time_to_target.py`` and
``python -m fastnet bench --time-to-target``.

``METHODS`` maps a method name to a *setup* ``setup(problem, loss, dtype) -> Runner``. The setup
makes the problem's data and initial weights (never timed) and converts them to what the method
needs. A ``Runner`` then

* ``reset()``: puts the initial weights back and forgets the optimizer's state (not timed);
* ``train(k)``: trains exactly ``k`` epochs (iterations, for L-BFGS) from there, the way a user
  of that library would, and returns the number of loss+gradient evaluations (timed);
* ``search(max_epochs, target)``: trains until the loss first falls below ``target`` (at most
  ``max_epochs``), recording the loss of every epoch (not timed: recording may cost extra);
* ``run()``: ``search`` and then ``train`` of exactly the epochs found, returning a ``Trace``
  (the loss history, the epochs and evaluations to the target, the final loss).

``measure(method, problem, loss, dtype)`` times it: a warm-up call (compilation, caches), the
search for ``k``, one untimed ``train(k)`` (the same work as a timed round, and the check that it
reaches the target), then ``rounds`` timed calls of ``train(k)``; the median is reported.

What "epochs to target" means
-----------------------------
``history[j]`` is the training loss of the weights after ``j`` updates (for first-order
methods the loss computed in epoch ``j``'s forward pass, before its update, as in
``Network.history_``; for L-BFGS the loss at the start of iteration ``j``). The target is
reached after ``k = min{j : history[j] < target}`` epochs or iterations, and the time reported
is that of ``train(k)``: the wait for a model that is below the target. The weights it returns
are checked by one judge for every method, ``Network.loss`` in the problem's dtype
(``Result.final_loss``). A first-order method computes the loss of its last weights only in
the next epoch's forward pass; that one extra forward pass (``1/k`` of the work) is not timed.
An L-BFGS line search evaluates the point it accepts, so its ``evals`` include it.

Problems and targets
--------------------
``breast_cancer`` (``load_breast_cancer``, all 569 rows, standardised, layers ``(30, 16, 1)``)
and the docs/design.md §4 workloads ``S``, ``M``, ``L``, ``Deep`` (``fastnet.data``: same data,
same initial weights ``default_rng(0).standard_normal / sqrt(fan_in)``, zero biases), with both
losses in float64 and float32. Each target is fixed per problem and loss (``PROBLEMS``), and is
a loss that plain gradient descent (at the workload's ``lr``) reaches only after hundreds or
thousands of epochs, or not within the cap, while the adaptive and second-order methods reach
it in tens or hundreds. The log-loss targets of breast cancer, S and M (0.05, 0.25, 0.20) are
those of issue 11; the others were picked the same way from a long float64 run of every fastnet
optimizer (numbers in the comments of ``PROBLEMS``). A method that does not reach the target
within ``max_epochs`` epochs or iterations (or stops, or diverges, first) is reported as not
reached, with its last loss.

Methods and their settings (nothing is tuned per problem)
---------------------------------------------------------
``fastnet-gd``, ``fastnet-momentum``, ``fastnet-nesterov``, ``fastnet-adam``, ``fastnet-rprop``,
``fastnet-lbfgs``
    ``Network.fit(optimizer=..., epochs=k, tol=None)``. GD at the workload's ``lr`` (0.5; 0.1
    for L and Deep, where 0.5 diverges). Momentum and Nesterov: ``momentum=0.9`` and
    ``lr = workload lr / 5`` (0.1, ``optim.Momentum``'s default, where GD uses 0.5): with 0.9
    the long-run step is ``lr / (1 - 0.9)``, twice GD's. Adam ``lr = ADAM_LR = 0.05`` (betas
    0.9, 0.999): in the float64 runs that chose the targets it reached every target sooner than
    0.01 (scikit-learn's and torch's default 0.001 is made for minibatches and is far too slow
    full batch) and stayed stable on L and Deep. Rprop (iRprop-) and L-BFGS (``history=10``,
    strong Wolfe line search) with their defaults.
``sklearn-lbfgs``, ``sklearn-adam`` (log loss only)
    ``MLPClassifier(activation="logistic", alpha=0, solver=..., batch_size=n, shuffle=False,
    tol=0, warm_start=True)``: the same network and loss. The initial weights are set through
    ``coefs_``/``intercepts_`` after an initialising ``fit`` (with ``warm_start=True`` a later
    ``fit`` starts from them); ``reset`` also clears ``loss_curve_`` and the no-improvement
    counter. Adam with ``learning_rate_init=ADAM_LR``; L-BFGS is SciPy's L-BFGS-B
    (``maxiter=k``, ``maxfun`` unlimited), which works in float64 whatever the data's dtype. The
    MSE is not applicable: ``MLPRegressor`` has an identity output layer, not a sigmoid, so it
    trains another model. Evaluations of L-BFGS-B are read from SciPy's result in the untimed
    check call (the search records the losses through SciPy's per-iteration callback, the Adam
    search calls ``partial_fit`` once per epoch: the same trajectory as ``fit(max_iter=k)``).
``torch-lbfgs``, ``torch-rprop``, ``torch-adam`` (``pip install 'fastnet-numba[peers]'``)
    Eager PyTorch from the same weights on as many threads as numba: ``torch.optim.LBFGS(lr=1,
    history_size=10, line_search_fn="strong_wolfe", max_iter=k, tolerance_grad=0,
    tolerance_change=0)`` (one ``step``, so it runs exactly ``k`` iterations; its evaluations
    are ``state["func_evals"]``), ``Rprop(lr=0.1)`` (its initial step, as fastnet's and FANN's
    ``step0``; etas and step bounds are the defaults: the same iRprop- as ``optim.Rprop``) and
    ``Adam(lr=ADAM_LR)``, one ``backward()`` and ``step()`` per epoch.
``fann-rprop`` (MSE and float64 only)
    FANN (the C library for exactly these networks) through its Python binding ``fann2``, with
    its default trainer, RPROP (FANN's iRprop-, default parameters: initial step 0.1, bounds 0
    and 50), ``train_on_data(data, k, 0, 0.0)``. Activations are set to ``SIGMOID`` with
    steepness 0.5, which is exactly our sigmoid (FANN's default is a stepwise approximation),
    and the error function to ``ERRORFUNC_LINEAR``, the MSE's gradient (FANN's default
    ``ERRORFUNC_TANH`` trains a different loss). FANN computes the derivative of the sigmoid
    from its output clipped to [0.01, 0.99], so its gradients differ slightly from the exact
    ones; the MSE it reports (``train_epoch``, ``get_MSE``) is the exact one, summed in a C
    float. The initial weights are ours: the network file that ``reset`` loads
    (``create_from_file``) is written with them (the binding's ``get_connection_array`` and
    ``set_weight_array`` pass SWIG pointers that Python can neither read nor build, and
    ``set_weight`` searches all connections for each weight). FANN is single-threaded.
    Debian's binding is built on ``libdoublefann`` (``fann_type`` is double), so float32 is not
    applicable. Install it from Debian 12 (``pip install fann2`` does not build against
    Debian's ``libfann-dev``, even with ``swig``: "Couldn't find FANN source libs!"), then make
    the binding, built for Debian's ``/usr/bin/python3`` 3.11, importable from this project's
    Python 3.11 (same minor version, same ABI)::

        apt-get update && apt-get install -y python3-fann2
        cd /usr/lib/python3/dist-packages && ln -s "$PWD"/fann2 "$PWD"/fann2-*.egg-info \\
            "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/

A missing peer, or a loss or dtype a method cannot train, is skipped with the reason
(``unavailable``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import math
import re
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import optim
from .data import WORKLOADS, classification, initial_weights
from .network import DivergedError, Network

Weights = list[tuple[np.ndarray, np.ndarray]]

LOSSES = ("mse", "log")
DTYPES = (np.float64, np.float32)
#: Adam's step size for fastnet, scikit-learn and torch (see the module docstring).
ADAM_LR = 0.05
#: Momentum and Nesterov: ``lr = problem.lr * MOMENTUM_LR_SCALE`` with ``momentum=MOMENTUM``.
MOMENTUM, MOMENTUM_LR_SCALE = 0.9, 0.2
#: The initial step of every Rprop (fastnet's ``step0``, torch's ``lr``, FANN's delta_zero).
RPROP_STEP0 = 0.1
#: Rows and epochs of the smoke pass (benchmarks disabled).
SMOKE_ROWS = 200
SMOKE_EPOCHS = 8


@dataclass(frozen=True)
class Problem:
    """A training problem with a fixed training-loss target per loss."""

    name: str
    layers: tuple[int, ...]
    n: int
    #: Gradient descent's step size (docs/design.md section 4's ``lr``); Momentum's is derived.
    lr: float
    #: ``loss -> target``: the training loss to get below.
    targets: dict[str, float] = field(hash=False, compare=False)
    #: Cap of the search, in epochs (iterations for L-BFGS).
    max_epochs: int
    #: Timed calls of ``train(k)`` per case (after the untimed check call).
    rounds: int
    #: ``"workload"`` (``fastnet.data.classification``) or ``"breast_cancer"``.
    source: str = "workload"

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.layers[1:-1]


def _workload_problem(name: str, targets, max_epochs: int, rounds: int) -> Problem:
    w = WORKLOADS[name]
    return Problem(name, w.layers, w.n, w.lr, targets, max_epochs, rounds)


# The epochs (iterations) fastnet's optimizers needed in the float64 exploration runs that
# picked the targets, GD / momentum / Adam / Rprop / L-BFGS ("-": not within the cap).
PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        # mse: 796 / 390 / 23 / 7 / 8.  log: 554 / 270 / 42 / 11 / 11.
        Problem(
            "breast_cancer", (30, 16, 1), 569, 0.5, {"mse": 0.015, "log": 0.05}, 20_000, 5,
            source="breast_cancer",
        ),
        # mse: ~150 / ~100 / ~40 / ~15 / ~15.  log: ~110 / ~100 / ~50 / ~10 / ~10.
        _workload_problem("S", {"mse": 0.10, "log": 0.25}, 20_000, 5),
        # mse: ~1200 / ~700 / ~70 / ~25 / ~25.  log: ~1200 / ~1000 / ~80 / ~35 / ~30.
        _workload_problem("M", {"mse": 0.15, "log": 0.20}, 5_000, 3),
        # (float32) mse: - / - / ~20 / ~10 / ~10.  log: - / - / ~50 / ~15 / ~25.
        _workload_problem("L", {"mse": 0.10, "log": 0.25}, 200, 1),
        # mse: - / - / ~40 / ~20 / ~50.  log: - / - / ~50 / ~25 / ~50 (GD: 0.248 and 0.678
        # after 800 epochs, momentum 0.243 and 0.518).
        _workload_problem("Deep", {"mse": 0.10, "log": 0.30}, 1_000, 3),
    )
}  # fmt: skip
#: Problems marked ``slow`` in pytest (``-m "not slow"`` leaves them out).
SLOW_PROBLEMS = ("L", "Deep")
#: The problems of ``python -m fastnet bench --time-to-target --quick``.
QUICK_PROBLEMS = ("breast_cancer", "S")


def smoke_problem(problem: Problem) -> Problem:
    """``problem`` with its layers but ``SMOKE_ROWS`` rows, ``SMOKE_EPOCHS`` and one round."""
    return dataclasses.replace(
        problem, n=min(problem.n, SMOKE_ROWS), max_epochs=SMOKE_EPOCHS, rounds=1
    )


@lru_cache(maxsize=2)
def problem_data(problem: Problem, dtype: type) -> tuple[np.ndarray, np.ndarray, Weights]:
    """``(X, y, initial weights)``, cached so that the methods of one case share one copy."""
    if problem.source == "breast_cancer":
        from sklearn.datasets import load_breast_cancer
        from sklearn.preprocessing import StandardScaler

        X, y = load_breast_cancer(return_X_y=True)
        X = StandardScaler().fit_transform(X[: problem.n])
        X, y = X.astype(dtype), y[: problem.n].astype(dtype)
    else:
        X, y = classification(problem.n, problem.layers[0], dtype)
    return X, y, initial_weights(problem.layers, dtype)


def judge_loss(weights: Weights, problem: Problem, loss: str, dtype: type) -> float:
    """The training loss of ``weights``, by ``Network.loss`` in ``dtype``: one judge for all."""
    X, y, _ = problem_data(problem, dtype)
    return float(Network.from_weights(weights, loss=loss, dtype=dtype).loss(X, y))


# --------------------------------------------------------------------------- results
@dataclass
class Trace:
    """What ``Runner.run`` found: the search's losses and the check of ``train(epochs)``."""

    history: np.ndarray  # history[j]: the loss after j epochs (iterations), from the search
    target: float
    epochs: int | None  # epochs (iterations) to the target; None when not reached
    evals: int | None  # loss+gradient evaluations of train(epochs)
    final_loss: float | None  # the judge's loss of the weights train(epochs) returned
    stop: str  # "reached", "cap", "stopped" (the method stopped itself) or "diverged"

    @property
    def reached(self) -> bool:
        return self.epochs is not None


@dataclass
class Result:
    """Time to target of one method on one ``(problem, loss, dtype)`` case."""

    problem: str
    loss: str
    dtype: str
    method: str
    target: float
    reached: bool
    epochs: int | None  # epochs (iterations) to the target
    evals: int | None  # loss+gradient evaluations to the target
    median_s: float | None  # median seconds of train(epochs); None when not reached
    rounds: int
    initial_loss: float | None  # the loss of the initial weights (None: not run)
    last_loss: float | None  # the search's last loss (below the target when reached)
    searched: int  # epochs (iterations) the search ran
    final_loss: float | None = None  # the judge's loss of the timed run's weights
    #: "reached", "cap", "stopped", "diverged" (see ``Trace``), "n/a" (not applicable) or
    #: "error" (it raised; ``python -m fastnet bench`` goes on with the next method).
    stop: str = "reached"
    note: str = ""  # why not applicable, or the error it raised
    times_s: list[float] = field(default_factory=list)
    #: The search's loss curve, thinned: ``[epoch, loss]`` at most ~60 points, log-spaced.
    curve: list[list[float]] = field(default_factory=list)


def thin(history: np.ndarray, points: int = 60) -> list[list[float]]:
    """``[[epoch, loss], ...]`` at about ``points`` log-spaced epochs, first and last included."""
    n = len(history)
    if n == 0:
        return []
    idx = np.unique(np.geomspace(1, n, num=min(points, n)).astype(int) - 1)
    idx = np.union1d([0, n - 1], idx)
    return [[int(i), float(history[i])] for i in idx]


# --------------------------------------------------------------------------- runners
class Runner:
    """One method on one problem, loss and dtype, with its data and initial weights made."""

    def __init__(self, problem: Problem, loss: str, dtype: type) -> None:
        self.problem, self.loss, self.dtype = problem, loss, np.dtype(dtype).type
        self.X, self.y, self.init = problem_data(problem, self.dtype)

    def reset(self) -> None:
        """The initial weights and a fresh optimizer (not timed)."""
        raise NotImplementedError

    def train(self, epochs: int, *, count: bool = False) -> int | None:
        """Exactly ``epochs`` epochs (iterations) from the current state; the evaluations made,
        or ``None`` when counting them would cost something and ``count`` is False."""
        raise NotImplementedError

    def search(self, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
        """From the initial weights until the loss first falls below ``target``: the loss of
        every epoch and why it stopped ("reached", "cap", "stopped", "diverged")."""
        raise NotImplementedError

    def weights(self) -> Weights:
        """The current weights as ``[(W, b), ...]`` NumPy arrays."""
        raise NotImplementedError

    def run(self, target: float | None = None, max_epochs: int | None = None) -> Trace:
        """Search for the epochs to ``target`` (default: the problem's), then ``check`` them."""
        target = self.problem.targets[self.loss] if target is None else target
        max_epochs = self.problem.max_epochs if max_epochs is None else max_epochs
        history, stop = self.search(max_epochs, target)
        return self.check(history, target, stop)

    def check(self, history, target: float, stop: str = "cap") -> Trace:
        """The ``Trace`` of a search's ``history``: ``k``, the first epoch below ``target``,
        then one ``train(k)`` from the initial weights, its evaluations and the judge's loss
        of its weights."""
        history = np.asarray(history, np.float64)
        below = np.flatnonzero(history < target)
        if len(below) == 0:
            return Trace(history, target, None, None, None, stop)
        if below[0] == 0:
            raise ValueError(f"the initial loss {history[0]:.4g} is already below {target}")
        k = int(below[0])
        self.reset()
        evals = self.train(k, count=True)
        final = judge_loss(self.weights(), self.problem, self.loss, self.dtype)
        return Trace(history, target, k, evals, final, "reached")


def _stop_reason(history, max_epochs: int) -> str:
    if len(history) and not math.isfinite(history[-1]):
        return "diverged"
    return "cap" if len(history) >= max_epochs else "stopped"


def _ended(history, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
    """``search``'s result: the losses, and why the search ended."""
    if history and history[-1] < target:
        return np.array(history), "reached"
    return np.array(history), _stop_reason(history, max_epochs)


def _epochs_until(step: Callable[[], float], max_epochs: int, target: float) -> list[float]:
    """The losses ``step()`` returns, one epoch per call, until one is below ``target`` or not
    finite, or ``max_epochs`` calls."""
    history = []
    for _ in range(max_epochs):
        loss = step()
        history.append(loss)
        if loss < target or not math.isfinite(loss):
            break
    return history


# fastnet -------------------------------------------------------------------------------
def _fastnet_optimizer(name: str, problem: Problem) -> optim.Optimizer:
    if name == "gd":
        return optim.GD(lr=problem.lr)
    if name in ("momentum", "nesterov"):
        lr = problem.lr * MOMENTUM_LR_SCALE
        return optim.Momentum(lr=lr, momentum=MOMENTUM, nesterov=name == "nesterov")
    if name == "adam":
        return optim.Adam(lr=ADAM_LR)
    if name == "rprop":
        return optim.Rprop(step0=RPROP_STEP0)
    if name == "lbfgs":
        return optim.LBFGS()
    raise ValueError(f"unknown fastnet optimizer {name!r}")


class FastnetRunner(Runner):
    """``Network.from_weights(...).fit(X, y, optimizer=..., epochs=k, tol=None)``."""

    def __init__(self, problem: Problem, loss: str, dtype: type, optimizer: str) -> None:
        super().__init__(problem, loss, dtype)
        self.optimizer = _fastnet_optimizer(optimizer, problem)
        self.reset()

    def reset(self) -> None:
        self.net = Network.from_weights(self.init, loss=self.loss)

    def train(self, epochs: int, *, count: bool = False) -> int:
        self.net.fit(self.X, self.y, optimizer=self.optimizer, epochs=epochs, tol=None)
        return self.net.n_evals_

    def search(self, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
        self.reset()
        # The callback runs between compiled blocks: of 10 epochs (a few too many cost little),
        # or of one L-BFGS iteration (which can cost 20 evaluations once the loss is tiny).
        block = 1 if isinstance(self.optimizer, optim.LBFGS) else 10
        try:
            self.net.fit(
                self.X, self.y, optimizer=self.optimizer, epochs=max_epochs, tol=None,
                callback=lambda epochs, loss: loss < target, block_epochs=block,
            )  # fmt: skip
        except DivergedError:
            return self.net.history_, "diverged"
        history = self.net.history_
        if len(history) and history[-1] < target:
            return history, "reached"
        return history, "cap" if len(history) >= max_epochs else "stopped"

    def weights(self) -> Weights:
        return self.net.weights


def _fastnet_setup(optimizer: str):
    def setup(problem: Problem, loss: str, dtype: type) -> Runner:
        return FastnetRunner(problem, loss, dtype, optimizer)

    setup.__doc__ = f"fastnet's ``{optimizer}`` optimizer (``Network.fit``)."
    return setup


# scikit-learn --------------------------------------------------------------------------
@contextlib.contextmanager
def _lbfgs_recorder(first: list, on_iteration=None) -> Iterator[dict]:
    """Patch ``scipy.optimize.minimize`` (which ``MLPClassifier`` calls for L-BFGS-B) to record
    the first evaluation's loss in ``first``, call ``on_iteration(loss)`` after every iteration
    (it may raise ``StopIteration`` to stop) and put SciPy's ``nfev`` in the yielded dict."""
    import scipy.optimize

    real = scipy.optimize.minimize
    out: dict = {}

    def minimize(fun, x0, *args, **kwargs):
        def fun_(x, *a):
            value = fun(x, *a)
            if not first:
                first.append(float(value[0]))
            return value

        if on_iteration is not None:

            def callback(intermediate_result):
                on_iteration(float(intermediate_result.fun))

            kwargs["callback"] = callback
        res = real(fun_, x0, *args, **kwargs)
        out["nfev"] = int(res.nfev)
        return res

    scipy.optimize.minimize = minimize
    try:
        yield out
    finally:
        scipy.optimize.minimize = real


class SklearnRunner(Runner):
    """``MLPClassifier(activation="logistic", alpha=0, warm_start=True)`` from our weights."""

    def __init__(self, problem: Problem, loss: str, dtype: type, solver: str) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        super().__init__(problem, loss, dtype)
        self.solver = solver
        self._warning = ConvergenceWarning
        n = self.X.shape[0]
        self.clf = MLPClassifier(
            hidden_layer_sizes=problem.hidden, activation="logistic", solver=solver, alpha=0.0,
            batch_size=n, learning_rate_init=ADAM_LR, max_iter=1, shuffle=False, tol=0.0,
            n_iter_no_change=2**31 - 1, max_fun=2**31 - 1, warm_start=True, random_state=0,
        )  # fmt: skip
        with warnings.catch_warnings():  # an initialising fit sets the fitted attributes
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.fit(self.X, self.y)
        self.reset()

    def reset(self) -> None:
        clf = self.clf
        clf.coefs_ = [W.copy() for W, _ in self.init]
        clf.intercepts_ = [b.copy() for _, b in self.init]
        if self.solver != "lbfgs":
            clf.loss_curve_, clf.best_loss_, clf._no_improvement_count = [], np.inf, 0
            if hasattr(clf, "_optimizer"):  # partial_fit would continue it
                del clf._optimizer

    def _fit(self, epochs: int) -> None:
        self.clf.max_iter = epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._warning)  # "maximum iterations reached"
            self.clf.fit(self.X, self.y)

    def train(self, epochs: int, *, count: bool = False) -> int | None:
        if self.solver != "lbfgs":
            self._fit(epochs)
            return epochs
        if not count:
            self._fit(epochs)
            return None
        with _lbfgs_recorder([]) as out:
            self._fit(epochs)
        return out["nfev"]

    def search(self, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
        self.reset()
        if self.solver == "lbfgs":
            first: list[float] = []
            history: list[float] = []

            def on_iteration(loss: float) -> None:
                history.append(loss)
                if loss < target or not math.isfinite(loss):
                    raise StopIteration

            with _lbfgs_recorder(first, on_iteration):
                self._fit(max_epochs)
            # history[j] after j iterations, j < max_epochs, as for every other method.
            history = (first[:1] + history)[:max_epochs]
        else:  # partial_fit: one epoch per call, continuing the same Adam
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", self._warning)
                for _ in range(max_epochs):
                    self.clf.partial_fit(self.X, self.y)
                    loss = self.clf.loss_curve_[-1]
                    if loss < target or not math.isfinite(loss):
                        break
            history = list(self.clf.loss_curve_)
        return _ended(history, max_epochs, target)

    def weights(self) -> Weights:
        return list(zip(self.clf.coefs_, self.clf.intercepts_, strict=True))


def _sklearn_setup(solver: str):
    def setup(problem: Problem, loss: str, dtype: type) -> Runner:
        return SklearnRunner(problem, loss, dtype, solver)

    setup.__doc__ = f'scikit-learn\'s ``MLPClassifier(solver="{solver}")``, full batch.'
    return setup


# torch ---------------------------------------------------------------------------------
class TorchRunner(Runner):
    """Eager PyTorch with autograd, full batch, from our weights, on numba's thread count."""

    def __init__(self, problem: Problem, loss: str, dtype: type, optimizer: str) -> None:
        import numba
        import torch
        import torch.nn.functional as F

        super().__init__(problem, loss, dtype)
        torch.set_num_threads(numba.get_num_threads())
        self.torch, self.optimizer = torch, optimizer
        self.Xt = torch.from_numpy(self.X)
        self.Yt = torch.from_numpy(self.y.reshape(-1, 1))
        self._init = [torch.from_numpy(a) for pair in self.init for a in pair]
        n, mse, bce = self.X.shape[0], loss == "mse", F.binary_cross_entropy_with_logits

        def cost(params):
            a, last = self.Xt, len(params) - 2
            for i in range(0, len(params), 2):
                z = torch.addmm(params[i + 1], a, params[i])
                if i < last or mse:  # the log loss takes the output layer's logits
                    a = torch.sigmoid(z)
            if mse:
                return ((a - self.Yt) ** 2).sum() / n
            return bce(z, self.Yt, reduction="sum") / n

        self.cost = cost
        self.reset()

    def reset(self) -> None:
        self.params = [p.clone().requires_grad_() for p in self._init]

    def _make(self, max_iter: int = 1):
        optim_ = self.torch.optim
        if self.optimizer == "lbfgs":
            return optim_.LBFGS(
                self.params, lr=1, max_iter=max_iter, max_eval=2**62, tolerance_grad=0.0,
                tolerance_change=0.0, history_size=10, line_search_fn="strong_wolfe",
            )  # fmt: skip
        if self.optimizer == "rprop":
            return optim_.Rprop(self.params, lr=RPROP_STEP0)
        return optim_.Adam(self.params, lr=ADAM_LR)

    def _closure(self, opt):
        params, cost = self.params, self.cost

        def closure():
            opt.zero_grad()
            J = cost(params)
            J.backward()
            return J

        return closure

    def train(self, epochs: int, *, count: bool = False) -> int:
        if self.optimizer == "lbfgs":
            opt = self._make(max_iter=epochs)
            opt.step(self._closure(opt))
            return int(opt.state[self.params[0]]["func_evals"])
        opt = self._make()
        params, cost = self.params, self.cost
        for _ in range(epochs):
            opt.zero_grad()
            cost(params).backward()
            opt.step()
        return epochs

    def search(self, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
        self.reset()
        # L-BFGS: one iteration per step() (each step re-evaluates its starting point, which
        # the previous line search already did: the same trajectory, one evaluation more).
        opt = self._make(max_iter=1)
        closure = self._closure(opt)

        def step() -> float:
            if self.optimizer == "lbfgs":
                return float(opt.step(closure).detach())
            loss = float(closure().detach())
            opt.step()
            return loss

        return _ended(_epochs_until(step, max_epochs, target), max_epochs, target)

    def weights(self) -> Weights:
        arrays = [p.detach().numpy().copy() for p in self.params]
        return list(zip(arrays[::2], arrays[1::2], strict=True))


def _torch_setup(optimizer: str):
    def setup(problem: Problem, loss: str, dtype: type) -> Runner:
        return TorchRunner(problem, loss, dtype, optimizer)

    setup.__doc__ = f"PyTorch's ``torch.optim`` {optimizer}, full batch, eager autograd."
    return setup


# FANN ----------------------------------------------------------------------------------
_FANN_CONNECTION = re.compile(r"\((\d+), ([^)]+)\)")


def fann_connections(weights: Weights) -> tuple[list[int], list[float]]:
    """FANN's connection order for ``weights``: for every neuron, layer by layer, its inputs
    from the previous layer and then that layer's bias neuron (numbered after its units)."""
    sources, values = [], []
    base = 0
    for W, b in weights:
        fan_in, fan_out = W.shape
        for j in range(fan_out):
            sources += range(base, base + fan_in + 1)
            values += [*W[:, j].tolist(), float(b[j])]
        base += fan_in + 1
    return sources, values


def fann_weights(text: str, layers: tuple[int, ...]) -> Weights:
    """The ``[(W, b), ...]`` of a saved FANN network (the inverse of ``fann_connections``)."""
    line = next(x for x in text.splitlines() if x.startswith("connections"))
    values = np.array([float(w) for _, w in _FANN_CONNECTION.findall(line.split("=", 1)[1])])
    out, at = [], 0
    for fan_in, fan_out in zip(layers[:-1], layers[1:], strict=False):
        block = values[at : at + (fan_in + 1) * fan_out].reshape(fan_out, fan_in + 1)
        out.append((block[:, :fan_in].T.copy(), block[:, fan_in].copy()))
        at += (fan_in + 1) * fan_out
    return out


class FannRunner(Runner):
    """FANN's default trainer (RPROP) on a network file written with our initial weights."""

    def __init__(self, problem: Problem, loss: str, dtype: type) -> None:
        from fann2 import libfann

        super().__init__(problem, loss, dtype)
        self.libfann = libfann
        self._dir = tempfile.TemporaryDirectory(prefix="fastnet-fann-")
        self.path = str(Path(self._dir.name) / "initial.net")
        ann = libfann.neural_net()
        ann.create_standard_array(list(problem.layers))
        ann.set_activation_function_hidden(libfann.SIGMOID)
        ann.set_activation_function_output(libfann.SIGMOID)
        ann.set_activation_steepness_hidden(0.5)  # 1 / (1 + exp(-2 * 0.5 * x)): our sigmoid
        ann.set_activation_steepness_output(0.5)
        ann.set_training_algorithm(libfann.TRAIN_RPROP)
        ann.set_train_error_function(libfann.ERRORFUNC_LINEAR)
        ann.set_rprop_delta_zero(RPROP_STEP0)
        ann.save(self.path)
        text = Path(self.path).read_text()
        head, line, tail = _split_connections(text)
        sources, values = fann_connections(self.init)
        if [int(s) for s, _ in _FANN_CONNECTION.findall(line)] != sources:
            raise RuntimeError("FANN's connection layout is not the one fann_connections writes")
        line = "connections (connected_to_neuron, weight)=" + "".join(
            f"({s}, {v:.20e}) " for s, v in zip(sources, values, strict=True)
        )
        Path(self.path).write_text(head + line + tail)
        self.data = libfann.training_data()
        self.data.set_train_data(self.X.astype(np.float64), self.y.reshape(-1, 1).astype(float))
        self.reset()

    def reset(self) -> None:
        self.ann = self.libfann.neural_net()
        if not self.ann.create_from_file(self.path):
            raise RuntimeError(f"FANN could not read {self.path}")

    def train(self, epochs: int, *, count: bool = False) -> int:
        self.ann.train_on_data(self.data, epochs, 0, 0.0)  # no reports, no desired error
        return epochs

    def search(self, max_epochs: int, target: float) -> tuple[np.ndarray, str]:
        self.reset()

        def step() -> float:
            return self.ann.train_epoch(self.data)  # the MSE before this epoch's update

        return _ended(_epochs_until(step, max_epochs, target), max_epochs, target)

    def weights(self) -> Weights:
        path = str(Path(self._dir.name) / "trained.net")
        self.ann.save(path)
        return fann_weights(Path(path).read_text(), self.problem.layers)


def _split_connections(text: str) -> tuple[str, str, str]:
    start = text.index("connections (connected_to_neuron, weight)=")
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    return text[:start], text[start:end], text[end:]


def _fann_setup(problem: Problem, loss: str, dtype: type) -> Runner:
    """FANN's RPROP (``fann2``), MSE, float64."""
    return FannRunner(problem, loss, dtype)


# --------------------------------------------------------------------------- the table
Setup = Callable[[Problem, str, type], Runner]

METHODS: dict[str, Setup] = {
    **{f"fastnet-{o}": _fastnet_setup(o) for o in optim.OPTIMIZERS},
    "sklearn-lbfgs": _sklearn_setup("lbfgs"),
    "sklearn-adam": _sklearn_setup("adam"),
    "torch-lbfgs": _torch_setup("lbfgs"),
    "torch-rprop": _torch_setup("rprop"),
    "torch-adam": _torch_setup("adam"),
    "fann-rprop": _fann_setup,
}
#: The methods whose best time every other is compared with.
SUBJECT_PREFIX = "fastnet-"
_TORCH = ("torch",), "pip install 'fastnet-numba[peers]'"
_FANN_INSTALL = (
    "apt-get install -y python3-fann2, then link it into this Python's site-packages "
    "(fastnet/convergence.py says how)"
)
#: Optional methods: the packages they need and how to install them.
PEERS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch-lbfgs": _TORCH,
    "torch-rprop": _TORCH,
    "torch-adam": _TORCH,
    "fann-rprop": (("fann2",), _FANN_INSTALL),
}
_SKLEARN_MSE = (
    "not applicable: MLPClassifier trains only the log loss, and MLPRegressor's output layer "
    "is the identity, not a sigmoid"
)
#: ``method -> {loss or dtype name: why it does not apply}``.
NOT_APPLICABLE: dict[str, dict[str, str]] = {
    "sklearn-lbfgs": {"mse": _SKLEARN_MSE},
    "sklearn-adam": {"mse": _SKLEARN_MSE},
    "fann-rprop": {
        "log": "not applicable: FANN trains the MSE only",
        "float32": "not applicable: this FANN binding computes in double (libdoublefann)",
    },
}


def unavailable(method: str, loss: str | None = None, dtype=None) -> str | None:
    """Why ``method`` cannot run here (a missing package) or on ``loss``/``dtype``, or None."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    packages, install = PEERS.get(method, ((), ""))
    missing = [m for m in packages if importlib.util.find_spec(m) is None]
    if missing:
        return f"{method} is not installed (missing {', '.join(missing)}): {install}"
    rules = NOT_APPLICABLE.get(method, {})
    for key in (loss, None if dtype is None else np.dtype(dtype).name):
        if key in rules:
            return f"{method}: {rules[key]}"
    return None


def cases(problems=tuple(PROBLEMS), losses=LOSSES, dtypes=DTYPES):
    """Every ``(problem name, loss, dtype)`` case, problem-major."""
    return [(p, loss, dt) for p in problems for loss in losses for dt in dtypes]


# --------------------------------------------------------------------------- measuring
def not_applicable(problem: str, loss: str, dtype, method: str, reason: str) -> Result:
    """The ``Result`` row of a method that cannot train this case (``unavailable``'s reason)."""
    return Result(
        problem=problem, loss=loss, dtype=np.dtype(dtype).name, method=method,
        target=PROBLEMS[problem].targets[loss] if problem in PROBLEMS else math.nan,
        reached=False, epochs=None, evals=None, median_s=None, rounds=0, initial_loss=None,
        last_loss=None, searched=0, stop="n/a", note=reason.removeprefix(f"{method}: "),
    )  # fmt: skip


def measure(
    method: str,
    problem: Problem | str,
    loss: str,
    dtype: type,
    *,
    rounds: int | None = None,
    target: float | None = None,
    max_epochs: int | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Result:
    """Time to target of ``method``: warm up, search, check, then time ``rounds`` calls.

    Only ``train(k)`` is timed; the data, the initial weights (``reset``), the warm-up call
    (compilation, caches) and the search are not.
    """
    problem = PROBLEMS[problem] if isinstance(problem, str) else problem
    rounds = problem.rounds if rounds is None else rounds
    runner = METHODS[method](problem, loss, dtype)
    runner.train(1)  # warm-up: compiles / loads caches; never timed
    trace = runner.run(target, max_epochs)
    times = []
    if trace.reached:
        for _ in range(rounds):
            runner.reset()
            t = timer()
            runner.train(trace.epochs)
            times.append(timer() - t)
    h = trace.history
    return Result(
        problem=problem.name,
        loss=loss,
        dtype=np.dtype(dtype).name,
        method=method,
        target=trace.target,
        reached=trace.reached,
        epochs=trace.epochs,
        evals=trace.evals,
        median_s=statistics.median(times) if times else None,
        rounds=len(times),
        initial_loss=float(h[0]) if len(h) else None,
        last_loss=float(h[-1]) if len(h) else None,
        searched=len(h),
        final_loss=trace.final_loss,
        stop=trace.stop,
        times_s=times,
        curve=thin(h),
    )


__all__ = [
    "METHODS",
    "PROBLEMS",
    "Problem",
    "Result",
    "Runner",
    "Trace",
    "cases",
    "measure",
    "not_applicable",
    "smoke_problem",
    "unavailable",
]
