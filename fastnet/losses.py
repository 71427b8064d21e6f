"""Loss registry: user-facing names (and aliases) -> the compiled and the NumPy loss of each
output layer it accepts.

A loss is one ``@njit`` function ``kernel(z, p, y, delta) -> total`` over equal-length 1-D
views of the output layer of a row block (flattened ``(m, k)``), and its plain-NumPy
counterpart ``reference(z, p, y, delta) -> total`` with the same signature and contract (the
NumPy backend's, so that the baseline stays an independent witness). Both return the block's
summed loss and write, per element, the derivative *before* the ``1/n`` of the mean into
``delta``. What ``z`` and ``p`` are, and which derivative, depends on the output layer:

============  ==========================================  ================================
output        ``z``, ``p``                                ``delta``
============  ==========================================  ================================
``sigmoid``   the logits, ``p = sigmoid(z)``              ``dJ/dz``
``linear``    the outputs, ``p = z``                      ``dJ/dz = dJ/dp``
``softmax``   ``z = log p`` (log-probabilities, finite    ``dJ/d(log p)``; the kernels apply
              for any finite logits), ``p`` the softmax    the softmax's Jacobian per row
============  ==========================================  ================================

The kernels receive the compiled loss as an argument (a first-class function typed by its
signature), so the training kernels do not change, nor compile again, when a loss is added.

The built-in losses are compiled in ``_kernels.py`` (section "losses"), next to the vectorised
exp they share with the sigmoid: numba's disk cache of a function is keyed on its own file only,
so compiled code that calls other compiled code lives in that one file. Their NumPy
counterparts are in ``reference.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from . import reference
from ._kernels import (
    LINEAR_OUT,
    SIGMOID_OUT,
    SOFTMAX_OUT,
    cross_entropy,
    cross_entropy_weighted,
    huber_linear,
    huber_linear_weighted,
    log_loss,
    log_loss_weighted,
    mse,
    mse_linear,
    mse_linear_weighted,
    mse_weighted,
)

#: The output layers, and their codes in the kernels. Hidden layers are always sigmoids.
OUTPUT_CODES: dict[str, int] = {"sigmoid": SIGMOID_OUT, "softmax": SOFTMAX_OUT,
                                "linear": LINEAR_OUT}  # fmt: skip
OUTPUTS: tuple[str, ...] = tuple(OUTPUT_CODES)


@dataclass(frozen=True)
class Loss:
    """A registered loss for one output layer: its canonical name, output layer, compiled block
    function (``kernel``), NumPy block function (``reference``), and whether its targets must
    lie in [0, 1] (sigmoid and linear outputs; a softmax output takes class labels or
    probability rows). A built-in loss also has a compiled weighted form ``weighted(z, p, y, w,
    delta)`` (row weights ``w``); the kernels weigh a registered loss's rows one by one."""

    name: str
    output: str
    kernel: Callable
    reference: Callable
    needs_unit_targets: bool
    weighted: Callable | None = None

    @property
    def output_code(self) -> int:
        return OUTPUT_CODES[self.output]


#: Canonical name -> output layer -> ``Loss``.
LOSSES: dict[str, dict[str, Loss]] = {}
#: Every accepted name (canonical names and aliases, lower case) -> canonical name.
ALIASES: dict[str, str] = {}
_lock = threading.Lock()


def _add(name: str, aliases: Iterable[str], losses: Iterable[Loss]) -> None:
    LOSSES[name] = {loss.output: loss for loss in losses}
    ALIASES[name] = name
    for alias in aliases:
        ALIASES[alias] = name


def _builtins() -> None:
    # The sigmoid output lies in [0, 1]: a target outside it cannot be reached (issue 14).
    _add("mse", ["squared_error"], [
        Loss("mse", "sigmoid", mse, reference.mse_sigmoid, True, mse_weighted),
        Loss("mse", "linear", mse_linear, reference.mse_linear, False, mse_linear_weighted),
    ])  # fmt: skip
    _add("log", ["bce", "binary_crossentropy", "log_loss"], [
        Loss("log", "sigmoid", log_loss, reference.log_sigmoid, True, log_loss_weighted),
    ])  # fmt: skip
    _add("cross_entropy", ["categorical_crossentropy", "softmax_cross_entropy"], [
        Loss("cross_entropy", "softmax", cross_entropy, reference.cross_entropy_softmax, False,
             cross_entropy_weighted),
    ])  # fmt: skip
    _add("huber", [], [
        Loss("huber", "linear", huber_linear, reference.huber_linear, False,
             huber_linear_weighted),
    ])  # fmt: skip


_builtins()
#: The built-in losses' names (``register_loss`` does not let them be replaced).
BUILTIN = frozenset(LOSSES)


def check_output(output: object) -> str:
    """One of ``OUTPUTS``."""
    if not isinstance(output, str) or output not in OUTPUT_CODES:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    return output


def canonical_name(name: object) -> str:
    """The canonical name of a loss name or alias; an unknown name lists the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"loss must be a string, got {type(name).__name__}")
    key = ALIASES.get(name.lower())
    if key is None:
        valid = ", ".join(repr(a) for a in sorted(ALIASES))
        raise ValueError(
            f"unknown loss {name!r}; valid names are {valid} (fastnet.register_loss adds one)"
        )
    return key


def outputs_of(name: object) -> tuple[str, ...]:
    """The output layers loss ``name`` accepts, in ``OUTPUTS``'s order."""
    by_output = LOSSES[canonical_name(name)]
    return tuple(o for o in OUTPUTS if o in by_output)


def get_loss(name: object, output: object = None) -> Loss:
    """Look a loss up by name or alias for ``output`` (``None``: the first output it accepts,
    in ``OUTPUTS``'s order); a pair that does not go together is a ``ValueError`` naming both."""
    key = canonical_name(name)
    by_output = LOSSES[key]
    if output is None:
        return by_output[outputs_of(key)[0]]
    output = check_output(output)
    loss = by_output.get(output)
    if loss is None:
        accepted = " or ".join(repr(o) for o in outputs_of(key))
        raise ValueError(
            f"loss {name!r} does not work with output={output!r}: it needs output={accepted}"
        )
    return loss


def _loss_type(dtype):
    from ._jit import loss_type

    return loss_type(dtype)


def _check_kernel(kernel: object) -> None:
    """``kernel`` is an ``@njit`` function that compiles for the block signature in both
    dtypes (a ``TypeError`` naming ``kernel`` otherwise); compiles it (or loads it from numba's
    cache), never the training kernels."""
    from numba.core.registry import CPUDispatcher

    from ._jit import first_class

    if not isinstance(kernel, CPUDispatcher):
        raise TypeError(
            f"kernel must be an @numba.njit function, got {type(kernel).__name__} {kernel!r}"
        )
    for dt in (np.float64, np.float32):
        sig = _loss_type(dt).signature
        try:
            kernel.compile(sig)
            first_class(kernel, dt)
        except Exception as exc:  # numba's typing errors have many classes
            raise TypeError(
                f"kernel {getattr(kernel, '__name__', kernel)!r} does not compile for the loss "
                f"block signature {sig} (kernel(z, p, y, delta) -> total on 1-D "
                f"{np.dtype(dt).name} arrays): {type(exc).__name__}: {exc}"
            ) from exc


def register_loss(
    name: str,
    kernel: Callable,
    *,
    reference: Callable,
    output: str = "sigmoid",
    needs_unit_targets: bool = False,
    aliases: Iterable[str] = (),
    replace: bool = False,
) -> None:
    """Register a loss for the output layer ``output``, usable by name in ``Network(loss=...)``
    (and by the estimators, the Dask path and ``fastnet.load``).

    ``kernel`` is an ``@numba.njit`` function ``kernel(z, p, y, delta) -> total`` over 1-D
    views of a row block's outputs (see this module's docstring for what ``z``, ``p`` and
    ``delta`` are for each output layer): it returns the block's summed loss and writes the
    per-element derivative (before the mean's ``1/n``) into ``delta``. ``reference`` is its
    plain-NumPy counterpart with the same signature and contract, used by the NumPy backend.
    ``needs_unit_targets``: targets must lie in [0, 1] (sigmoid or linear outputs).
    ``aliases``: further names. A name already registered is an error unless ``replace=True``
    (the built-in losses cannot be replaced). Everything is checked before anything is
    registered; the training kernels are reused, not compiled again.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if callable(reference) is False:
        raise TypeError(f"reference must be callable, got {type(reference).__name__}")
    output = check_output(output)
    if not isinstance(needs_unit_targets, (bool, np.bool_)):
        raise TypeError(
            f"needs_unit_targets must be True or False, got {type(needs_unit_targets).__name__}"
        )
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace must be True or False, got {type(replace).__name__}")
    if isinstance(aliases, str) or not isinstance(aliases, Iterable):
        raise TypeError(f"aliases must be a sequence of strings, got {aliases!r}")
    aliases = list(aliases)
    for a in aliases:
        if not isinstance(a, str) or not a.strip():
            raise TypeError(f"aliases must be non-empty strings, got {a!r}")
    if output == "softmax" and needs_unit_targets:
        raise ValueError("needs_unit_targets does not apply to output='softmax' (class targets)")
    key = name.lower()
    names = [key, *(a.lower() for a in aliases)]
    if len(set(names)) != len(names):
        raise ValueError(f"name and aliases repeat a name: {names}")
    with _lock:
        for n in names:
            owner = ALIASES.get(n)
            if owner in BUILTIN:
                raise ValueError(f"name {n!r} is a built-in loss ({owner!r}); choose another")
            if owner is not None and not (replace and owner == key):
                what = "name" if n == key else "aliases"
                raise ValueError(
                    f"{what}: loss {n!r} is already registered"
                    + ("" if owner == n else f" (as an alias of {owner!r})")
                    + "; pass replace=True to replace it"
                )
        _check_kernel(kernel)
        for n in [n for n, owner in ALIASES.items() if owner == key]:
            del ALIASES[n]
        LOSSES.pop(key, None)
        _add(key, names[1:], [Loss(key, output, kernel, reference,
                                   bool(needs_unit_targets))])  # fmt: skip


def unregister_loss(name: str) -> None:
    """Remove a loss ``register_loss`` added (built-in losses stay)."""
    key = canonical_name(name)
    if key in BUILTIN:
        raise ValueError(f"{key!r} is a built-in loss: it cannot be removed")
    with _lock:
        for n in [n for n, owner in ALIASES.items() if owner == key]:
            del ALIASES[n]
        del LOSSES[key]
