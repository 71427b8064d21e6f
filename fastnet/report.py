"""``python -m fastnet bench``: time every implementation on the DESIGN.md workloads and print
a table (median ms per epoch, fastnet's speedup over NumPy and over each peer, mse vs log cost,
compile time), with the machine, CPU, thread count and library versions in a header.

It can also turn saved results into the same table: its own ``--json`` output, or the JSON of
``pytest bench/ --benchmark-only --benchmark-json=FILE`` (``--from FILE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from .benchmarks import (
    IMPLEMENTATIONS,
    LOSSES,
    QUICK_EPOCHS,
    SLOW_WORKLOADS,
    SUBJECT,
    cases,
    dtype_name,
    unavailable,
)
from .data import WORKLOADS

FORMAT = "fastnet-bench/1"
_NO_MATPLOTLIB = (
    "--plot needs matplotlib, which is not installed: pip install 'fastnet-numba[plot]'"
)
#: Timed calls per case after one untimed warm-up call (the median is reported).
ROUNDS = {"S": 5, "M": 3, "L": 1, "Deep": 3}
LIBRARIES = ("numpy", "numba", "scipy", "scikit-learn", "jax", "jaxlib", "torch")


@dataclass
class Result:
    """Timing of one implementation on one ``(workload, loss, dtype)`` case."""

    workload: str
    loss: str
    dtype: str
    implementation: str
    epochs: int
    median_s: float  # median seconds of one timed call (``epochs`` epochs)
    rounds: int
    first_call_s: float | None = None  # the untimed warm-up call (compile, caches)
    times_s: list[float] = field(default_factory=list)

    @property
    def ms_per_epoch(self) -> float:
        return self.median_s * 1e3 / self.epochs


# --------------------------------------------------------------------------- header
def library_versions() -> dict[str, str]:
    """Installed versions of Python, fastnet and the libraries the benchmarks use."""
    versions = {"python": platform.python_version()}
    for name in ("fastnet-numba", *LIBRARIES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_model() -> str:
    """CPU model name from ``lscpu``, else ``/proc/cpuinfo``, else ``platform.processor()``."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_commit() -> str:
    """Short commit of the checkout fastnet runs from (``+dirty`` with local changes), or ''."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)

    try:
        sha = git("rev-parse", "--short", "HEAD")
        if sha.returncode != 0:
            return ""
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_header(implementations) -> dict:
    import numba

    header = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": f"{platform.node()} ({platform.system()} {platform.machine()})",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "libraries": library_versions(),
    }
    if "torch" in implementations:
        import torch

        header["torch_threads"] = torch.get_num_threads()
    return header


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction of all cores busy over ``seconds`` (from ``/proc/stat``), or None."""

    def sample():
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(v) for v in fields]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


# --------------------------------------------------------------------------- measuring
def _progress(total: int):
    """A tqdm bar on stderr, or a plain line per step when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True)
    except ImportError:

        class Plain:
            done = 0

            def set_description(self, text):
                print(f"[{self.done + 1}/{total}] {text}", file=sys.stderr, flush=True)

            def update(self, k=1):
                self.done += k

            def close(self):
                pass

        return Plain()


def measure(case_list, implementations, *, quick: bool, rounds: int | None, bar) -> list[Result]:
    """Warm up, then time ``run()`` ``rounds`` times for every case and implementation."""
    results = []
    for workload_name, loss, dtype in case_list:
        workload = WORKLOADS[workload_name]
        if quick:
            workload = _with_epochs(workload, QUICK_EPOCHS.get(workload_name, workload.epochs))
        n_rounds = rounds or ROUNDS.get(workload_name, 3)
        for impl in implementations:
            bar.set_description(f"{workload_name} {loss} {dtype_name(dtype)} {impl}")
            run = IMPLEMENTATIONS[impl](workload, loss, dtype)  # data, weights: not timed
            t = time.perf_counter()
            first = run()  # warm-up: compiles / loads caches, never timed
            first_call = time.perf_counter() - t
            if not np.isfinite(first).all():
                raise RuntimeError(f"{impl} produced a non-finite loss on {workload_name}")
            times = []
            for _ in range(n_rounds):
                t = time.perf_counter()
                run()
                times.append(time.perf_counter() - t)
            results.append(
                Result(
                    workload=workload_name,
                    loss=loss,
                    dtype=dtype_name(dtype),
                    implementation=impl,
                    epochs=workload.epochs,
                    median_s=statistics.median(times),
                    rounds=n_rounds,
                    first_call_s=first_call,
                    times_s=times,
                )
            )
            bar.update(1)
    return results


def _with_epochs(workload, epochs):
    import dataclasses

    return dataclasses.replace(workload, epochs=epochs)


_COMPILE_SCRIPT = """
import json, time
import numpy as np
from fastnet import Network
from fastnet.data import classification
out = []
for dtype in (np.float64, np.float32):
    X, y = classification(64, 4, dtype)
    for loss in ("mse", "log"):
        t = time.perf_counter()
        Network((4, 3, 1), loss=loss, dtype=dtype).fit(X, y, epochs=1, tol=None)
        out.append([np.dtype(dtype).name, loss, time.perf_counter() - t])
print(json.dumps(out))
"""


def measure_compile() -> list[dict]:
    """Seconds of the first ``fit`` per dtype and loss in a new process, cold and warm cache.

    Cold: ``NUMBA_CACHE_DIR`` is a new empty folder, so everything compiles. Warm: a second
    process with the same folder, now filled, so the kernels load from the disk cache. The
    user's own cache is not touched. Losses run in order ``mse``, ``log`` per dtype: the first
    fit of a dtype compiles the kernels, the second only its loss function.
    """
    rows = {}
    with tempfile.TemporaryDirectory(prefix="fastnet-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for state in ("cold", "warm"):
            proc = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"compile-time measurement failed:\n{proc.stderr}")
            for dtype, loss, seconds in json.loads(proc.stdout.splitlines()[-1]):
                rows.setdefault((dtype, loss), {"dtype": dtype, "loss": loss})[state] = seconds
    return list(rows.values())


# --------------------------------------------------------------------------- reading JSON
def load(path: str | os.PathLike) -> dict:
    """A report (``header``, ``results``, ``compile``) from our JSON or pytest-benchmark's."""
    data = json.loads(Path(path).read_text())
    if data.get("format") == FORMAT:
        data["results"] = [Result(**r) for r in data["results"]]
        return data
    if "benchmarks" in data and "machine_info" in data:
        return _from_pytest_benchmark(data)
    raise ValueError(
        f"{path}: neither a 'python -m fastnet bench --json' file nor pytest-benchmark JSON"
    )


def _utc(iso: str) -> str:
    """pytest-benchmark's ISO timestamp as ``YYYY-MM-DD HH:MM UTC`` (unchanged if unparsable)."""
    try:
        stamp = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _from_pytest_benchmark(data: dict) -> dict:
    info = data["machine_info"]
    cpu = info.get("cpu", {})
    commit = data.get("commit_info", {})
    header = {
        "date": _utc(data.get("datetime", "")),
        "commit": (commit.get("id") or "")[:7] + ("+dirty" if commit.get("dirty") else ""),
        "machine": f"{info.get('node', '?')} ({info.get('system', '?')} {info.get('machine')})",
        "cpu": cpu.get("brand_raw", "unknown CPU"),
        "cores": cpu.get("count", "?"),
        "numba_threads": info.get("numba_threads", "?"),
        "libraries": info.get("libraries", {"python": info.get("python_version", "?")}),
        **({"torch_threads": info["torch_threads"]} if "torch_threads" in info else {}),
        "source": "pytest-benchmark",
    }
    results = []
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        if "implementation" not in extra:  # design-decision benchmarks have their own groups
            continue
        stats = bench["stats"]
        results.append(
            Result(
                workload=extra["workload"],
                loss=extra["loss"],
                dtype=extra["dtype"],
                implementation=extra["implementation"],
                epochs=extra["epochs"],
                median_s=stats["median"],
                rounds=stats["rounds"],
                times_s=list(stats.get("data", [])),
            )
        )
    if not results:
        raise ValueError("the pytest-benchmark JSON holds no bench/test_training.py results")
    return {"format": FORMAT, "header": header, "results": results, "compile": []}


# --------------------------------------------------------------------------- tables
def _ordered(values, order):
    return [v for v in order if v in values] + sorted(set(values) - set(order))


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:.4g}" if ms < 1000 else f"{ms:.0f}"


def format_header(header: dict) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in header["libraries"].items() if v != "not installed")
    lines = [
        f"# fastnet benchmark, {header['date']}"
        + (f", commit {header['commit']}" if header.get("commit") else ""),
        f"machine: {header['machine']}; CPU: {header['cpu']}; {header['cores']} cores",
        f"threads: numba {header['numba_threads']}"
        + (f", torch {header['torch_threads']}" if "torch_threads" in header else "")
        + (
            "; jax: XLA's own pool"
            if header["libraries"].get("jax", "not installed") != "not installed"
            else ""
        ),
        f"versions: {libs}",
    ]
    busy = header.get("busy_before")
    if busy is not None:
        warn = " (other processes were running: expect noise)" if busy > 0.1 else ""
        lines.append(f"CPU busy in the second before the run: {busy:.0%}{warn}")
    if header.get("quick"):
        lines.append("quick run: workloads S and M only, fewer epochs per timed call")
    return "\n".join(lines)


def format_tables(report: dict) -> str:
    """The speed table, the loss-function table and the compile table, as plain text."""
    results: list[Result] = report["results"]
    by = {(r.workload, r.loss, r.dtype, r.implementation): r for r in results}
    impls = _ordered({r.implementation for r in results}, list(IMPLEMENTATIONS))
    workloads = _ordered({r.workload for r in results}, list(WORKLOADS))
    dtypes = _ordered({r.dtype for r in results}, ["float64", "float32"])
    losses = _ordered({r.loss for r in results}, list(LOSSES))
    others = [i for i in impls if i != SUBJECT]

    def ms(w, loss, d, impl):
        r = by.get((w, loss, d, impl))
        return None if r is None else r.ms_per_epoch

    out = [
        "Median ms per epoch (lower is better). 'fastnet ×' = other ms / fastnet ms: how many "
        "times faster fastnet is (> 1: faster).",
    ]
    head = f"{'workload':<8} {'loss':<4} {'dtype':<7} |" + "".join(f" {i:>9}" for i in impls)
    if SUBJECT in impls:
        head += " |" + "".join(f" {'× ' + i:>9}" for i in others)
    rows = [head, "-" * len(head)]
    for w in workloads:
        for loss in losses:
            for d in dtypes:
                row = f"{w:<8} {loss:<4} {d:<7} |"
                row += "".join(f" {_fmt_ms(ms(w, loss, d, i)):>9}" for i in impls)
                if SUBJECT in impls:
                    base = ms(w, loss, d, SUBJECT)
                    row += " |"
                    for other in others:
                        t = ms(w, loss, d, other)
                        row += f" {t / base:>9.2f}" if t and base else f" {'–':>9}"
                rows.append(row)
    out += rows

    if len(losses) == 2:
        out += ["", "Loss-function cost: median ms per epoch, mse vs log, per implementation."]
        head = f"{'workload':<8} {'dtype':<7} {'impl':<8} | {'mse':>9} {'log':>9} {'log/mse':>8}"
        out += [head, "-" * len(head)]
        for w in workloads:
            for d in dtypes:
                for i in impls:
                    a, b = ms(w, "mse", d, i), ms(w, "log", d, i)
                    ratio = f"{b / a:>8.2f}" if a and b else f"{'–':>8}"
                    out.append(f"{w:<8} {d:<7} {i:<8} | {_fmt_ms(a):>9} {_fmt_ms(b):>9} {ratio}")

    epochs = sorted({(r.workload, r.epochs, r.rounds) for r in results}, key=lambda x: x[0])
    out += [
        "",
        "Epochs per timed call and timed calls per case (after one untimed warm-up call): "
        + ", ".join(f"{w} {e} epochs × {k}" for w, e, k in epochs)
        + ". Data and initial weights are made before timing; tol=None.",
    ]

    if report.get("compile"):
        out += [
            "",
            "Compile time of the numba kernels: seconds of the first fit in a new process "
            "(never inside a timed round).",
            "cold = empty NUMBA_CACHE_DIR, warm = the same cache folder in a second process.",
        ]
        head = f"{'dtype':<7} {'loss':<4} | {'cold s':>7} {'warm s':>7}"
        out += [head, "-" * len(head)]
        for row in report["compile"]:
            out.append(
                f"{row['dtype']:<7} {row['loss']:<4} | {row['cold']:>7.2f} {row['warm']:>7.3f}"
            )
    first = {}
    for r in results:
        if r.first_call_s is not None:
            first.setdefault(r.implementation, []).append(r.first_call_s - r.median_s)
    if first:
        out += [
            "",
            "First-call overhead in this process (warm-up call − median call, median over "
            "cases; jit compilation or cache loading): "
            + ", ".join(f"{i} {statistics.median(v):.2f} s" for i, v in first.items()),
        ]
    return "\n".join(out)


def format_markdown(report: dict) -> str:
    """The speed table as Markdown, with the machine in a footnote (for README.md)."""
    results: list[Result] = report["results"]
    by = {(r.workload, r.loss, r.dtype, r.implementation): r.ms_per_epoch for r in results}
    impls = _ordered({r.implementation for r in results}, list(IMPLEMENTATIONS))
    others = [i for i in impls if i != SUBJECT] if SUBJECT in impls else []
    head = ["case", *(f"{i} ms" for i in impls), *(f"× {i}" for i in others)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in _ordered({r.workload for r in results}, list(WORKLOADS)):
        for loss in _ordered({r.loss for r in results}, list(LOSSES)):
            for d in _ordered({r.dtype for r in results}, ["float64", "float32"]):
                if not any((w, loss, d, i) in by for i in impls):
                    continue
                cells = [f"{w} {loss} {d}"]
                cells += [_fmt_ms(by.get((w, loss, d, i))) for i in impls]
                base = by.get((w, loss, d, SUBJECT))
                for other in others:
                    t = by.get((w, loss, d, other))
                    cells.append(f"{t / base:.2f}" if t and base else "–")
                lines.append("| " + " | ".join(cells) + " |")
    h = report["header"]
    libs = ", ".join(f"{k} {v}" for k, v in h["libraries"].items() if v != "not installed")
    epochs = sorted({(r.workload, r.epochs, r.rounds) for r in results})
    lines += [
        "",
        f"Median ms per epoch; `× X` = X ms / {SUBJECT} ms (> 1: {SUBJECT} faster). "
        f"{h['date']}"
        + (f", commit {h['commit']}" if h.get("commit") else "")
        + f"; {h['cpu']}, {h['cores']} cores, numba threads {h['numba_threads']}"
        + (f", torch threads {h['torch_threads']}" if "torch_threads" in h else "")
        + f"; {libs}. Epochs × timed calls per case: "
        + ", ".join(f"{w} {e} × {k}" for w, e, k in epochs)
        + ", after one untimed warm-up call.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- plot
def plot(report: dict, path: str | os.PathLike) -> None:
    """PNG: fastnet's speedup per workload over NumPy and each peer, a bar per loss and dtype."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit(_NO_MATPLOTLIB) from exc
    results: list[Result] = report["results"]
    by = {(r.workload, r.loss, r.dtype, r.implementation): r.ms_per_epoch for r in results}
    impls = {r.implementation for r in results}
    baselines = [i for i in IMPLEMENTATIONS if i in impls and i != SUBJECT]
    if SUBJECT not in impls or not baselines:
        raise SystemExit(f"--plot needs results for {SUBJECT} and at least one other")
    workloads = _ordered({r.workload for r in results}, list(WORKLOADS))
    series = [(loss, d) for loss in LOSSES for d in ("float64", "float32")]
    fig, axes = plt.subplots(1, len(baselines), figsize=(5.5 * len(baselines), 4.6), squeeze=False)
    width = 0.8 / len(series)
    x = np.arange(len(workloads))
    for ax, base in zip(axes[0], baselines, strict=True):
        for k, (loss, d) in enumerate(series):
            ys = [
                by[(w, loss, d, base)] / by[(w, loss, d, SUBJECT)]
                if (w, loss, d, base) in by and (w, loss, d, SUBJECT) in by
                else np.nan
                for w in workloads
            ]
            bars = ax.bar(x + (k - (len(series) - 1) / 2) * width, ys, width, label=f"{loss} {d}")
            ax.bar_label(bars, fmt="%.2g", fontsize=7, padding=1)
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_xticks(x, workloads)
        ax.set_xlabel("workload")
        ax.set_ylabel(f"speedup = {base} ms / {SUBJECT} ms")
        ax.set_title(f"{SUBJECT} vs {base} (higher: {SUBJECT} faster)")
        ax.margins(y=0.15)
        ax.legend(fontsize=8)
    h = report["header"]
    fig.suptitle(
        f"fastnet speedup per epoch, full-batch GD — {h['cpu']}, numba threads "
        f"{h['numba_threads']}, {h['date']}" + (f", {h['commit']}" if h.get("commit") else ""),
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastnet bench",
        description="Time fastnet against the NumPy baseline (and JAX / PyTorch when "
        "installed) on the DESIGN.md workloads, both losses, both dtypes.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"workloads S and M only, {QUICK_EPOCHS} epochs per timed call "
        "(about a minute on 2 cores)",
    )
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    p.add_argument("--plot", metavar="OUT", help="write a PNG of the speedups (needs matplotlib)")
    p.add_argument(
        "--from",
        dest="source",
        metavar="IN",
        help="print the table of saved results instead of running: a --json "
        "file or pytest-benchmark JSON (pytest bench/ --benchmark-json=IN)",
    )
    p.add_argument(
        "--workloads",
        nargs="+",
        choices=list(WORKLOADS),
        help="workloads to run (default: all; S M with --quick)",
    )
    p.add_argument(
        "--implementations",
        nargs="+",
        choices=list(IMPLEMENTATIONS),
        help="implementations to run (default: every one installed)",
    )
    p.add_argument("--markdown", action="store_true", help="print the speed table as Markdown too")
    p.add_argument("--rounds", type=int, help=f"timed calls per case (default {ROUNDS})")
    p.add_argument(
        "--no-compile",
        action="store_true",
        help="skip the cold/warm-cache compile-time measurement",
    )
    return p


def run_report(args: argparse.Namespace) -> dict:
    workloads = args.workloads or [
        w for w in WORKLOADS if not (args.quick and w in SLOW_WORKLOADS)
    ]
    wanted = args.implementations or list(IMPLEMENTATIONS)
    implementations = []
    for impl in wanted:
        reason = unavailable(impl)
        if reason:
            print(f"skipping {reason}", file=sys.stderr)
        else:
            implementations.append(impl)
    if not implementations:
        raise SystemExit("nothing to run: none of the chosen implementations is installed")
    if args.rounds is not None and args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    case_list = cases(workloads)
    busy = cpu_busy()
    bar = _progress(len(case_list) * len(implementations) + (0 if args.no_compile else 1))
    try:
        compile_rows = []
        if not args.no_compile:
            bar.set_description("compile time (cold and warm cache)")
            compile_rows = measure_compile()
            bar.update(1)
        results = measure(
            case_list, implementations, quick=args.quick, rounds=args.rounds, bar=bar
        )
    finally:
        bar.close()
    header = machine_header(implementations)
    header["quick"] = args.quick
    header["busy_before"] = busy
    return {"format": FORMAT, "header": header, "results": results, "compile": compile_rows}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        # Say so now, not after minutes of timing.
        raise SystemExit(_NO_MATPLOTLIB)
    if args.source:
        report = load(args.source)
    else:
        report = run_report(args)
    print(format_header(report["header"]))
    print()
    print(format_tables(report))
    if args.markdown:
        print()
        print(format_markdown(report))
    if args.json:
        data = {**report, "results": [asdict(r) for r in report["results"]]}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    if args.plot:
        plot(report, args.plot)
        print(f"wrote {args.plot}")
    return 0
