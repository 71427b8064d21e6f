"""Optimizers: hyper-parameters, their checks, the layout of their state, the kernel they select.

An optimizer object only *describes* an update; the backends carry it out (the numba kernels in
``_kernels.py``, the textbook NumPy version in ``reference.py``, the Dask client through the
NumPy version). Every backend keeps the optimizer's state in the same two flat arrays, so a
network trained on one backend continues on another and ``save``/``pickle`` store it as it is:

* ``vec``: ``dtype``, a whole number of blocks of ``n_params`` values in the flat parameter
  layout (``_layout.param_layout``);
* ``scal``: float64 scalars (counters, the step size of the last line search, ...).

==========  ==================================================  ============================
optimizer   ``vec`` blocks                                      ``scal``
==========  ==================================================  ============================
GD          none                                                ``[t]``
Momentum    ``v``                                               ``[t]``
Adam        ``m``, ``v``                                        ``[t]``
Rprop       ``step`` (starts at ``step0``), ``prev`` gradient   ``[t]``
LBFGS       ``g``, ``s_1..s_m``, ``y_1..y_m``                   ``[t, f, have_fg, count,
                                                                head, n_evals, rho_1..rho_m]``
==========  ==================================================  ============================

``t`` counts the updates applied (Adam's bias correction uses it). For L-BFGS ``f`` and ``g``
are the loss and gradient at the current weights (valid when ``have_fg == 1``; every ``fit``
recomputes them first, since it may be given other data), ``s_i``/``y_i`` the last ``count``
(at most ``history``) steps and gradient changes in a ring whose newest entry is ``head``, and
``rho_i = 1 / (y_i . s_i)``.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

#: Kernel codes (``_kernels.train``'s ``opt`` argument; L-BFGS has its own kernel).
GD_CODE, MOMENTUM_CODE, NESTEROV_CODE, ADAM_CODE, RPROP_CODE, LBFGS_CODE = range(6)

# L-BFGS ``scal`` slots.
LB_T, LB_F, LB_HAVE, LB_COUNT, LB_HEAD, LB_EVALS, LB_RHO = range(7)
#: The L-BFGS line search's constants, L-BFGS-B's: sufficient decrease (``ftol``), curvature
#: (``gtol``; together the strong Wolfe conditions) and the relative width of a bracket that
#: ends the search (``xtol``).
WOLFE_C1, WOLFE_C2, WOLFE_XTOL = 1e-3, 0.9, 0.1


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _positive(value: object, name: str) -> float:
    value = _real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _unit_interval(value: object, name: str) -> float:
    value = _real(value, name)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must satisfy 0 <= {name} < 1, got {value}")
    return value


def _integer(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    """The hyper-parameters' names, in field order (``dataclasses.fields`` costs microseconds
    a call: ``fit`` asks for them every time)."""
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Optimizer:
    """Base class: a frozen set of hyper-parameters (compared by value)."""

    #: The lower-case name ``Network.fit(optimizer=...)`` accepts for the defaults.
    name: ClassVar[str]
    #: Blocks of ``n_params`` values in ``vec`` and the length of ``scal``.
    vec_blocks: ClassVar[int] = 0
    n_scalars: ClassVar[int] = 1

    @property
    def code(self) -> int:
        raise NotImplementedError

    def hyper(self) -> np.ndarray:
        """The hyper-parameters as float64, in the order the kernels read them."""
        return np.array([float(getattr(self, name)) for name in _names(type(self))], np.float64)

    def state_sizes(self, n_params: int) -> tuple[int, int]:
        """Lengths of ``vec`` and ``scal`` for ``n_params`` parameters."""
        return self.vec_blocks * n_params, self.n_scalars

    def init_state(self, n_params: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Fresh ``(vec, scal)``: the state before the first update."""
        nv, ns = self.state_sizes(n_params)
        return np.zeros(nv, dtype), np.zeros(ns, np.float64)

    def check_dtype(self, dtype: np.dtype) -> None:
        """Raise ``ValueError`` when a step size is 0 or inf once rounded to ``dtype``."""
        if dtype == np.float64:  # the values are finite, positive Python floats already
            return
        for name in self._step_sizes:
            value = getattr(self, name)
            with np.errstate(over="ignore"):
                rounded = dtype.type(value)
            if not np.isfinite(rounded) or rounded == 0:
                raise ValueError(
                    f"{name}={value} is {'too large' if rounded else 'too small'} for "
                    f"{dtype.name} (it rounds to {rounded})"
                )

    _step_sizes: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in _names(type(self)))
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True, repr=False)
class GD(Optimizer):
    """Full-batch gradient descent, the notes' update: ``p -= lr * g``."""

    lr: float = 0.5
    name: ClassVar[str] = "gd"
    _step_sizes: ClassVar[tuple[str, ...]] = ("lr",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _positive(self.lr, "lr"))

    @property
    def code(self) -> int:
        return GD_CODE


@dataclass(frozen=True, repr=False)
class Momentum(Optimizer):
    """Heavy-ball or Nesterov momentum, scikit-learn's ``SGDOptimizer``.

    ``v = momentum * v - lr * g``, then ``p += v``; with ``nesterov=True``
    ``p += momentum * v - lr * g`` (``v`` after its update). ``v`` starts at 0.
    """

    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    name: ClassVar[str] = "momentum"
    vec_blocks: ClassVar[int] = 1
    _step_sizes: ClassVar[tuple[str, ...]] = ("lr",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _positive(self.lr, "lr"))
        object.__setattr__(self, "momentum", _unit_interval(self.momentum, "momentum"))
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(
                f"nesterov must be True or False, got {type(self.nesterov).__name__} "
                f"{self.nesterov!r}"
            )
        object.__setattr__(self, "nesterov", bool(self.nesterov))

    @property
    def code(self) -> int:
        return NESTEROV_CODE if self.nesterov else MOMENTUM_CODE


@dataclass(frozen=True, repr=False)
class Adam(Optimizer):
    """Adam as in scikit-learn's ``AdamOptimizer``: the bias correction folded into the step.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)``, ``p -= lr_t m / (sqrt(v) + eps)``.
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name: ClassVar[str] = "adam"
    vec_blocks: ClassVar[int] = 2
    _step_sizes: ClassVar[tuple[str, ...]] = ("lr", "eps")

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _positive(self.lr, "lr"))
        object.__setattr__(self, "beta1", _unit_interval(self.beta1, "beta1"))
        object.__setattr__(self, "beta2", _unit_interval(self.beta2, "beta2"))
        object.__setattr__(self, "eps", _positive(self.eps, "eps"))

    @property
    def code(self) -> int:
        return ADAM_CODE


@dataclass(frozen=True, repr=False)
class Rprop(Optimizer):
    """iRprop- (Igel and Huesken 2003; FANN's default trainer, ``torch.optim.Rprop``).

    Per parameter: when the gradient keeps its sign the step grows by ``eta_plus``, when it
    flips the step shrinks by ``eta_minus`` and that parameter is not moved (its remembered
    gradient is set to 0), otherwise the step stays; steps are clipped to
    ``[step_min, step_max]`` and ``p -= sign(g) * step``.
    """

    step0: float = 0.1
    eta_minus: float = 0.5
    eta_plus: float = 1.2
    step_min: float = 1e-6
    step_max: float = 50.0
    name: ClassVar[str] = "rprop"
    vec_blocks: ClassVar[int] = 2
    _step_sizes: ClassVar[tuple[str, ...]] = ("step0", "step_min", "step_max")

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _positive(getattr(self, f.name), f.name))
        if not self.eta_minus < 1:
            raise ValueError(f"eta_minus must satisfy 0 < eta_minus < 1, got {self.eta_minus}")
        if not self.eta_plus > 1:
            raise ValueError(f"eta_plus must be > 1, got {self.eta_plus}")
        if not self.step_min <= self.step0 <= self.step_max:
            raise ValueError(
                "the step sizes must satisfy 0 < step_min <= step0 <= step_max, got "
                f"step_min={self.step_min}, step0={self.step0}, step_max={self.step_max}"
            )

    @property
    def code(self) -> int:
        return RPROP_CODE

    def init_state(self, n_params: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        vec, scal = super().init_state(n_params, dtype)
        vec[:n_params] = self.step0
        return vec, scal


@dataclass(frozen=True, repr=False)
class LBFGS(Optimizer):
    """Limited-memory BFGS with a line search satisfying the strong Wolfe conditions.

    L-BFGS-B's iteration without bounds (Byrd, Lu, Nocedal and Zhu 1995), so from the same
    weights it takes the iterates of ``scipy.optimize.minimize(method="L-BFGS-B")`` (tested):
    each iteration (one "epoch": one entry of ``history_``) takes the direction of the
    two-loop recursion over the last ``history`` step/gradient-change pairs, scaled by
    ``s.y / y.y`` of the newest pair (steepest descent when there is none; the very first step
    has unit length, every later one starts at 1), and searches along it with Moré and
    Thuente's line search (MINPACK-2 ``dcsrch``: the strong Wolfe conditions with
    ``c1 = 1e-3``, ``c2 = 0.9``), using at most ``max_line_search`` loss+gradient evaluations
    (a search that runs out of them is discarded, and the pairs with it). ``n_evals_`` counts
    the evaluations. When no step lowers the loss any more (a minimum, to the precision of
    the dtype) training stops with ``converged_ = True``.
    """

    history: int = 10
    max_line_search: int = 20
    name: ClassVar[str] = "lbfgs"

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", _integer(self.history, "history", 1))
        object.__setattr__(
            self, "max_line_search", _integer(self.max_line_search, "max_line_search", 1)
        )

    @property
    def code(self) -> int:
        return LBFGS_CODE

    def state_sizes(self, n_params: int) -> tuple[int, int]:
        return (1 + 2 * self.history) * n_params, LB_RHO + self.history


def _nesterov(**kwargs: object) -> Momentum:
    return Momentum(**{"nesterov": True, **kwargs})


#: Lower-case names -> constructors (with the defaults).
OPTIMIZERS = {
    "gd": GD,
    "momentum": Momentum,
    "nesterov": _nesterov,
    "adam": Adam,
    "rprop": Rprop,
    "lbfgs": LBFGS,
}


def get_optimizer(optimizer: object, **overrides: object) -> Optimizer:
    """An ``Optimizer`` from an object or a name (``OPTIMIZERS``); ``overrides`` are
    hyper-parameters given by name (only with a name)."""
    if isinstance(optimizer, Optimizer):
        if overrides:
            raise ValueError(
                f"{', '.join(overrides)} cannot be combined with an optimizer object: pass "
                f"them to it, e.g. {type(optimizer).__name__}(...)"
            )
        return optimizer
    if isinstance(optimizer, str):
        make = OPTIMIZERS.get(optimizer.lower())
        if make is None:
            valid = ", ".join(repr(k) for k in OPTIMIZERS)
            raise ValueError(f"unknown optimizer {optimizer!r}; valid names are {valid}")
        try:
            return make(**overrides)
        except TypeError as exc:
            if "unexpected keyword" in str(exc):
                raise ValueError(
                    f"optimizer {optimizer!r} has no hyper-parameter {', '.join(overrides)}"
                ) from exc
            raise
    raise TypeError(
        "optimizer must be a fastnet.optim.Optimizer or one of the names "
        f"{', '.join(repr(k) for k in OPTIMIZERS)}; got {type(optimizer).__name__}"
    )


def from_name_and_hyper(name: str, hyper: np.ndarray) -> Optimizer:
    """Rebuild an optimizer from its ``name`` and ``hyper()`` (persistence)."""
    if name == "nesterov":
        name = "momentum"
    cls = {"gd": GD, "momentum": Momentum, "adam": Adam, "rprop": Rprop, "lbfgs": LBFGS}.get(name)
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}")
    names = [f.name for f in fields(cls)]
    if len(hyper) != len(names):
        raise ValueError(
            f"optimizer {name!r} needs {len(names)} hyper-parameters, got {len(hyper)}"
        )
    kwargs = {}
    for f, value in zip(fields(cls), hyper, strict=True):
        if f.type in ("int", int):
            kwargs[f.name] = int(value)
        elif f.type in ("bool", bool):
            kwargs[f.name] = bool(value)
        else:
            kwargs[f.name] = float(value)
    return cls(**kwargs)


__all__ = ["GD", "LBFGS", "OPTIMIZERS", "Adam", "Momentum", "Optimizer", "Rprop", "get_optimizer"]
