"""``python -m fastnet <command>``: ``demo`` (train on built-in data) and ``bench`` (report)."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import __version__
from .data import demo_datasets
from .network import Network


def demo(args: argparse.Namespace) -> int:
    """The notes' "Step 3: test model": train on built-in data, test on held-out data."""
    if args.plot:  # fail before training, not after, when matplotlib is missing
        from .plotting import require_matplotlib, save_history_plot

        require_matplotlib()
    datasets = demo_datasets()
    # Compile (or load from the disk cache) before timing, and say how long it took.
    t0 = time.perf_counter()
    X, _, y, _ = datasets["make_moons"]
    for loss in ("mse", "log"):
        Network((X.shape[1], 2, 1), loss=loss).fit(X[:8], y[:8], epochs=1)
    print(f"numba kernels ready in {time.perf_counter() - t0:.2f} s (compile or cache load)\n")

    header = (
        f"{'dataset':<20} {'loss':<4} {'backend':<6} {'test acc':>8} {'final J':>9} "
        f"{'epochs':>6} {'ms/epoch':>9} {'speedup':>8}"
    )
    print(header)
    print("-" * len(header))
    curves = {"mse": [], "log": []}  # (dataset, numba network) per loss, for --plot
    for name, (X_tr, X_te, y_tr, y_te) in datasets.items():
        layers = (X_tr.shape[1], 16, 1)
        for loss in ("mse", "log"):
            per_epoch = {}
            for backend in ("numba", "numpy"):
                net = Network(layers, loss=loss, backend=backend, seed=args.seed)
                t = time.perf_counter()
                net.fit(X_tr, y_tr, lr=args.lr, epochs=args.epochs, tol=args.tol)
                per_epoch[backend] = (time.perf_counter() - t) * 1e3 / max(net.n_epochs_, 1)
                if backend == "numba":
                    curves[loss].append((name, net))
                speedup = per_epoch["numpy"] / per_epoch["numba"] if backend == "numpy" else None
                print(
                    f"{name:<20} {loss:<4} {backend:<6} {net.score(X_te, y_te):>8.3f} "
                    f"{net.history_[-1]:>9.5f} {net.n_epochs_:>6d} {per_epoch[backend]:>9.4f} "
                    + (f"{speedup:>7.1f}x" if speedup else f"{'':>8}")
                )
    print(
        f"\n(d, 16, 1) sigmoid networks, full-batch gradient descent, lr={args.lr}, "
        f"at most {args.epochs} epochs, tol={args.tol}; 70/30 split, standardised inputs. "
        "speedup = numpy ms/epoch / numba ms/epoch."
    )
    if args.plot:
        save_history_plot(args.plot, {f"loss={loss!r} (numba)": c for loss, c in curves.items()})
        print(f"loss curves of both losses written to {args.plot}")
    return 0


def compile_kernels(args: argparse.Namespace) -> int:
    """Compile (or load) every kernel, one line per step."""
    import numba

    from .warmup import compile_all

    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    where = numba.config.CACHE_DIR or "__pycache__ beside fastnet's modules"
    print(f"compiling fastnet's kernels into numba's cache ({where})", flush=True)
    total = compile_all(
        dtypes, report=lambda step, s: print(f"  {step:<32} {s:7.2f} s", flush=True)
    )
    print(f"done in {total:.1f} s; later processes load the kernels from the cache")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fastnet",
        description="fastnet: full-batch training of small sigmoid networks with fused Numba "
        "kernels. Commands: demo (train on built-in data), bench (benchmark report) and "
        "compile (compile the kernels ahead of the first fit).",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"fastnet {__version__}",
        help="print fastnet's version and exit",
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        help="what to run (python -m fastnet COMMAND --help shows its options)",
    )
    p = sub.add_parser("demo", help="train both losses and both backends on built-in data")
    p.add_argument(
        "--lr", type=float, default=0.5, help="gradient descent's step size (default %(default)s)"
    )
    p.add_argument(
        "--epochs", type=int, default=1000, help="most epochs per fit (default %(default)s)"
    )
    p.add_argument(
        "--tol",
        type=float,
        default=1e-4,
        help="stop a fit after 10 epochs in a row that do not lower the best loss by this "
        "much (default %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the initial weights (default %(default)s)"
    )
    p.add_argument("--plot", metavar="PATH", help="also write both losses' curves to PATH (.png)")
    p.set_defaults(func=demo)
    sub.add_parser("bench", help="benchmark report (see python -m fastnet bench --help)")
    p = sub.add_parser(
        "compile",
        help="compile every kernel now, into numba's disk cache, instead of in the first fit "
        "(once per install: tens of seconds; later processes load them in under a second)",
    )
    p.add_argument(
        "--dtype",
        choices=("float64", "float32", "both"),
        default="both",
        help="the dtype(s) to compile for (default %(default)s)",
    )
    p.set_defaults(func=compile_kernels)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bench":
        from .report import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    np.set_printoptions(precision=4)
    return args.func(args)
