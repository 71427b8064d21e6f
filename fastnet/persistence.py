"""Saving and loading networks: a versioned ``.npz`` file, and the state ``pickle`` uses.

A model file is an uncompressed ``.npz`` that ``np.load(path, allow_pickle=False)`` reads
without fastnet. Its arrays:

==================  ======================================================================
``format``          the string ``"fastnet.Network"`` (what marks the file as fastnet's)
``format_version``  int; this module writes ``FORMAT_VERSION`` and reads up to it
``fastnet_version``  the version of fastnet that wrote the file (informative only)
``layers``          int64 ``(L + 1,)``: the layer widths ``(d, h1, ..., k)``
``loss``            canonical loss name (a built-in or a ``fastnet.register_loss`` one)
``output``          the output layer, ``"sigmoid"``, ``"softmax"`` or ``"linear"`` (version 3;
                    older files hold sigmoid networks)
``dtype``           ``"float32"`` or ``"float64"``
``backend``         ``"numba"`` or ``"numpy"``
``W1, b1, ...``     each layer's weights ``(fan_in, fan_out)`` and biases ``(fan_out,)``
``history``         ``history_`` of the last ``fit``, in ``dtype``
``n_epochs``        ``n_epochs_`` (int)
``converged``       ``converged_`` (bool)
``n_evals``         ``n_evals_`` (int; version 2)
``optimizer``       the name of the last ``fit``'s optimizer (``fastnet.optim``), ``""`` for
                    none (version 2)
``optimizer_hyper``  float64: its hyper-parameters, in the order of its fields (version 2)
``optimizer_vec``   its state vector, in ``dtype`` (version 2; layout in ``fastnet.optim``)
``optimizer_scal``  float64: its scalar state (version 2)
==================  ======================================================================

Version 1 files (no optimizer fields) still load, as networks with no optimizer state; version
1 and 2 files (no ``output``) load as sigmoid-output networks. A file whose loss is not
registered in this process fails to load with a ``ValueError`` that names it.

``pickle`` (``Network.__getstate__``) uses the same dictionary, so both round trips are exact
and go through the same checks when read back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._validation import check_dtype, check_layers

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

FORMAT_NAME = "fastnet.Network"
FORMAT_VERSION = 3

_REQUIRED = (
    "format_version",
    "layers",
    "loss",
    "dtype",
    "backend",
    "history",
    "n_epochs",
    "converged",
)


def network_state(net: Network) -> dict[str, np.ndarray]:
    """Everything needed to rebuild ``net`` exactly, as plain NumPy arrays (no objects)."""
    from . import __version__

    state = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION, np.int64),
        "fastnet_version": np.array(__version__),
        "layers": np.array(net.layers, np.int64),
        "loss": np.array(net.loss_name),
        "output": np.array(net.output),
        "dtype": np.array(net.dtype.name),
        "backend": np.array(net.backend),
        "history": np.array(net.history_, net.dtype),
        "n_epochs": np.array(net.n_epochs_, np.int64),
        "converged": np.array(net.converged_, np.bool_),
        "n_evals": np.array(net.n_evals_, np.int64),
    }
    opt, opt_state = net.optimizer, net.optimizer_state
    state["optimizer"] = np.array("" if opt is None else opt.name)
    state["optimizer_hyper"] = np.zeros(0) if opt is None else opt.hyper()
    state["optimizer_vec"] = opt_state["vec"]
    state["optimizer_scal"] = opt_state["scal"]
    for i, (W, b) in enumerate(net.weights, start=1):
        state[f"W{i}"] = W
        state[f"b{i}"] = b
    return state


def from_state(
    state: Mapping[str, object],
    *,
    cls: type[Network] | None = None,
    backend: str | None = None,
    source: str = "the saved state",
) -> Network:
    """Rebuild a network from ``network_state``'s dictionary, checking every field.

    ``backend`` overrides the stored backend. ``source`` names the file in error messages.
    Raises ``ValueError`` for anything that is not a complete, consistent state of a format
    version this fastnet can read.
    """
    if cls is None:
        from .network import Network as cls
    if _text(state, "format", source, missing="is not a fastnet model file") != FORMAT_NAME:
        raise ValueError(f"{source} is not a fastnet model file (its 'format' is not fastnet's)")
    version = _integer(state, "format_version", source)  # first: newer files may differ
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{source} has format version {version}, newer than this fastnet reads "
            f"(up to {FORMAT_VERSION}): upgrade fastnet to load it"
        )
    if version < 1:
        raise ValueError(f"{source} has an invalid format version {version}")
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise ValueError(f"{source} is missing the fields {missing}: truncated or corrupt")
    try:
        layers = check_layers(int(s) for s in _array(state, "layers", source, ndim=1))
        dtype = check_dtype(_text(state, "dtype", source))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source} has an invalid field: {exc}") from exc
    weights = []
    for i in range(1, len(layers)):
        W = _array(state, f"W{i}", source, ndim=2, dtype=dtype)
        b = _array(state, f"b{i}", source, ndim=1, dtype=dtype)
        if W.shape != (layers[i - 1], layers[i]) or b.shape != (layers[i],):
            raise ValueError(
                f"{source}: W{i}, b{i} have shapes {W.shape}, {b.shape}, but layers "
                f"{layers} need {(layers[i - 1], layers[i])}, {(layers[i],)}"
            )
        weights.append((W, b))
    extra = sorted(k for k in state if k.startswith(("W", "b")) and k[1:].isdigit())
    if len(extra) != 2 * len(weights):
        raise ValueError(f"{source} holds weights {extra} that do not match layers {layers}")
    history = _array(state, "history", source, ndim=1, dtype=dtype)
    n_epochs = _integer(state, "n_epochs", source)
    if n_epochs != history.shape[0]:
        raise ValueError(
            f"{source}: n_epochs is {n_epochs} but history holds {history.shape[0]} losses"
        )
    if not np.isfinite(history).all():
        raise ValueError(f"{source}: history contains NaN or infinity")
    converged = np.asarray(state["converged"])
    if converged.shape != () or converged.dtype != np.bool_:
        raise ValueError(f"{source}: 'converged' must be a boolean, got {converged!r}")
    loss = _text(state, "loss", source)
    if version >= 3:
        if "output" not in state:
            raise ValueError(f"{source} is missing the fields ['output']: truncated or corrupt")
        output = _text(state, "output", source)
    else:
        output = "sigmoid"
    from .losses import ALIASES, get_loss

    if loss.lower() not in ALIASES:
        raise ValueError(
            f"{source} was saved with the loss {loss!r}, which is not registered in this "
            f"process: register it (fastnet.register_loss({loss!r}, ...)) before loading"
        )
    try:
        get_loss(loss, output)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source} has an invalid field: {exc}") from exc
    net = cls.from_weights(
        weights,
        loss=loss,
        dtype=dtype,
        backend=_text(state, "backend", source) if backend is None else backend,
        output=output,
    )
    net.history_ = history.copy()
    net.n_epochs_ = n_epochs
    net.converged_ = bool(converged)
    if version >= 2:
        _restore_optimizer(net, state, source, dtype)
    return net


_OPTIMIZER_FIELDS = ("n_evals", "optimizer", "optimizer_hyper", "optimizer_vec", "optimizer_scal")


def _restore_optimizer(net: Network, state: Mapping[str, object], source: str, dtype) -> None:
    """The optimizer fields of a version-2 state, checked, onto ``net``."""
    from . import optim

    missing = [k for k in _OPTIMIZER_FIELDS if k not in state]
    if missing:
        raise ValueError(f"{source} is missing the fields {missing}: truncated or corrupt")
    n_evals = _integer(state, "n_evals", source)
    if n_evals < 0:
        raise ValueError(f"{source}: n_evals must be >= 0, got {n_evals}")
    net.n_evals_ = n_evals
    name = _text(state, "optimizer", source)
    hyper = _array(state, "optimizer_hyper", source, ndim=1, dtype=np.dtype(np.float64))
    vec = _array(state, "optimizer_vec", source, ndim=1, dtype=dtype)
    scal = _array(state, "optimizer_scal", source, ndim=1, dtype=np.dtype(np.float64))
    if name == "":
        if hyper.size or vec.size or scal.size:
            raise ValueError(f"{source} holds optimizer state but names no optimizer")
        return
    try:
        opt = optim.from_name_and_hyper(name, hyper)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source} has an invalid optimizer: {exc}") from exc
    n_vec, n_scal = opt.state_sizes(net._layout.n_params)
    if vec.shape != (n_vec,) or scal.shape != (n_scal,):
        raise ValueError(
            f"{source}: the state of {opt!r} must have {n_vec} + {n_scal} values for "
            f"{net._layout.n_params} parameters, got {vec.size} + {scal.size}"
        )
    if not (np.isfinite(vec).all() and np.isfinite(scal).all()):
        raise ValueError(f"{source}: the optimizer state contains NaN or infinity")
    net._optimizer, net._opt_vec, net._opt_scal = opt, vec.copy(), scal.copy()


def save(net: Network, path: str | os.PathLike) -> Path:
    """Write ``net`` to ``path`` (exactly that name: no suffix is added) atomically.

    The file is written to a temporary file in the same directory, flushed to disk and then
    renamed over ``path`` (``os.replace``), so ``path`` holds either its old contents or the
    complete new file, never a partial one, whatever fails along the way.
    """
    path = Path(_fspath(path))
    state = network_state(net)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 lets the umask decide the final permissions, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **state)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)
    return path


def load(path: str | os.PathLike, *, backend: str | None = None) -> Network:
    """Read a network written by ``Network.save``; ``backend`` overrides the stored one.

    Raises
    ------
    FileNotFoundError, PermissionError
        As ``open`` does.
    ValueError
        The file is not a fastnet model file, is truncated or corrupt, or was written by a
        newer fastnet (a higher format version).
    """
    source = repr(_fspath(path))
    with open(path, "rb") as f:
        try:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not an .npz archive")
            with data:
                state = {key: data[key] for key in data.files}
        except (ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(
                f"{source} is not a readable fastnet model file (truncated, corrupt or another "
                f"format): {exc}"
            ) from exc
    return from_state(state, backend=backend, source=source)


# ---------------------------------------------------------------------------- helpers
def _fspath(path: object) -> str | bytes:
    try:
        return os.fspath(path)
    except TypeError as exc:
        raise TypeError(
            f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}"
        ) from exc


def _array(
    state: Mapping[str, object],
    key: str,
    source: str,
    *,
    ndim: int | None = None,
    dtype: np.dtype | None = None,
) -> np.ndarray:
    if key not in state:
        raise ValueError(f"{source} is missing the field {key!r}: truncated or corrupt")
    arr = np.asarray(state[key])
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{source}: {key!r} must be {ndim}-D, got shape {arr.shape}")
    if dtype is not None and arr.dtype != dtype:
        raise ValueError(f"{source}: {key!r} must have dtype {dtype.name}, got {arr.dtype}")
    return arr


def _text(state: Mapping[str, object], key: str, source: str, missing: str | None = None) -> str:
    if missing is not None and key not in state:
        raise ValueError(f"{source} {missing} (it has no {key!r} field)")
    arr = _array(state, key, source, ndim=0)
    if arr.dtype.kind != "U":
        raise ValueError(f"{source}: {key!r} must be a string, got dtype {arr.dtype}")
    return str(arr[()])


def _integer(state: Mapping[str, object], key: str, source: str) -> int:
    arr = _array(state, key, source, ndim=0)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{source}: {key!r} must be an integer, got dtype {arr.dtype}")
    return int(arr[()])


def _fsync_directory(directory: Path) -> None:
    """Flush the rename itself to disk (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
