"""Loss-curve plots. matplotlib is an optional extra: ``pip install 'fastnet-numba[plot]'``.

Nothing here imports matplotlib until a function is called, and ``fastnet.plot_history`` is
loaded lazily, so ``import fastnet`` never imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .network import Network


def require_matplotlib() -> None:
    """Raise an ImportError that says how to install matplotlib, if it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "fastnet's plots need matplotlib: pip install 'fastnet-numba[plot]' "
            "(or pip install matplotlib)"
        ) from exc


def _history(obj: object) -> tuple[np.ndarray, str]:
    """``(loss per epoch, loss name)`` of a Network or a fitted estimator with ``loss_curve_``."""
    if isinstance(obj, Network):
        return np.asarray(obj.history_), obj.loss_name
    if hasattr(obj, "loss_curve_"):
        return np.asarray(obj.loss_curve_), str(getattr(obj, "loss", "loss"))
    raise TypeError(
        "plot_history needs a fastnet.Network or a fitted estimator with loss_curve_ "
        f"(FastNetClassifier, FastNetRegressor, MLPClassifier, ...), got {type(obj).__name__}"
    )


def plot_history(net_or_estimator: object, ax=None, *, label: str | None = None):
    """Plot the training loss per epoch.

    Parameters
    ----------
    net_or_estimator : Network or fitted estimator
        A :class:`fastnet.Network` (plots ``history_``) or an estimator with ``loss_curve_``
        (``FastNetClassifier``, ``FastNetRegressor``, scikit-learn's ``MLPClassifier``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes if None.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    ax : matplotlib Axes
        Epochs (from 1) on x, the loss on y.
    """
    curve, loss_name = _history(net_or_estimator)
    if curve.size == 0:
        raise ValueError(
            f"{type(net_or_estimator).__name__} has no loss history to plot: fit it first"
        )
    require_matplotlib()
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    ax.plot(np.arange(1, curve.size + 1), curve, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"training loss ({loss_name})")
    return ax


def save_history_plot(
    path: str, panels: Mapping[str, Sequence[tuple[str, object]]], *, dpi: int = 120
) -> None:
    """Write a PNG (or any format matplotlib infers from ``path``) of loss curves side by side.

    ``panels`` maps a panel title to ``[(curve label, network or estimator), ...]``. Uses a
    bare ``Figure`` (no pyplot), so it works without a display.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * len(panels), 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, curves) in zip(axes, panels.items(), strict=True):
        for label, obj in curves:
            plot_history(obj, ax=ax, label=label)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=dpi)
