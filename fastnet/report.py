"""``python -m fastnet bench``: time every implementation on the docs/design.md §4 workloads and
print a table (median ms per epoch, fastnet's speedup over NumPy and over each peer, mse vs log
cost, compile time), with the machine, CPU, thread count and library versions in a header.

``python -m fastnet bench --time-to-target`` runs the other section instead: the seconds,
epochs and evaluations each optimizer (fastnet's and its peers', ``fastnet.convergence``) needs
to get the training loss below a fixed target, and each one's time over fastnet's best.

It can also turn saved results into the same tables: its own ``--json`` output, or the JSON of
``pytest bench/ --benchmark-only --benchmark-json=FILE`` (``--from FILE``), which also gives
the sparse-input table of bench/test_bench_sparse.py (``format_sparse``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from . import convergence
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
ROUNDS = {"S": 5, "M": 3, "L": 1, "Deep": 3, "C": 3}
LIBRARIES = ("numpy", "numba", "scipy", "scikit-learn", "jax", "jaxlib", "torch", "fann2")


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
    if any(i == "torch" or i.startswith("torch-") for i in implementations):
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
from fastnet.data import classification
from fastnet.warmup import small_network, loss_output_pairs, small_targets
out = []
for dtype in (np.float64, np.float32):
    X, _ = classification(64, 4, dtype)
    for loss, output in loss_output_pairs():
        t = time.perf_counter()
        net = small_network(loss, dtype, output)
        net.fit(X, small_targets(X, output), epochs=1, tol=None).predict(X)
        out.append([np.dtype(dtype).name, f"{loss} ({output})", time.perf_counter() - t])
print(json.dumps(out))
"""


def measure_compile() -> list[dict]:
    """Seconds of the first ``fit`` + ``predict`` per dtype and loss in a new process, cold and
    warm cache.

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
    """A report (``header``, ``results``, ``compile``, ``time_to_target``) from our JSON or
    pytest-benchmark's."""
    data = json.loads(Path(path).read_text())
    if data.get("format") == FORMAT:
        data["results"] = [Result(**r) for r in data.get("results", [])]
        data["time_to_target"] = [convergence.Result(**r) for r in data.get("time_to_target", [])]
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
    results, ttt, sparse = [], [], []
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        stats = bench["stats"]
        if bench.get("group") == "sparse":  # bench/test_bench_sparse.py
            sparse.append({**{k: extra.get(k) for k in _SPARSE_EXTRA},
                           "median_s": stats["median"], "rounds": stats["rounds"]})  # fmt: skip
            continue
        if "method" in extra:  # bench/test_time_to_target.py
            ttt.append(
                convergence.Result(
                    **{k: extra.get(k) for k in _TTT_EXTRA},
                    reached=True,
                    median_s=stats["median"],
                    rounds=stats["rounds"],
                    times_s=list(stats.get("data", [])),
                )
            )
            continue
        if "implementation" not in extra:  # design-decision benchmarks have their own groups
            continue
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
    if not results and not ttt and not sparse:
        raise ValueError(
            "the pytest-benchmark JSON holds no bench/test_training.py, "
            "bench/test_time_to_target.py or bench/test_bench_sparse.py results"
        )
    out = {
        "format": FORMAT,
        "header": header,
        "results": results,
        "compile": [],
        "time_to_target": ttt,
    }
    if sparse:
        out["sparse"] = sparse
    return out


#: The ``extra_info`` keys of a sparse-input benchmark (bench/test_bench_sparse.py).
_SPARSE_EXTRA = (
    "implementation", "n", "d", "density", "nnz", "hidden", "epochs", "dtype", "matrix_bytes",
    "peak_rss_bytes", "peak_traced_bytes",
)  # fmt: skip

#: The ``extra_info`` keys of a time-to-target benchmark (``convergence.Result`` fields).
_TTT_EXTRA = (
    "problem", "loss", "dtype", "method", "target", "epochs", "evals", "initial_loss",
    "last_loss", "searched", "final_loss",
)  # fmt: skip


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
    if header.get("quick") and header.get("section") == "time-to-target":
        lines.append(f"quick run: problems {', '.join(convergence.QUICK_PROBLEMS)} only")
    elif header.get("quick"):
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
    width = max(4, *(len(loss) for loss in losses))
    head = f"{'workload':<8} {'loss':<{width}} {'dtype':<7} |" + "".join(f" {i:>9}" for i in impls)
    if SUBJECT in impls:
        head += " |" + "".join(f" {'× ' + i:>9}" for i in others)
    rows = [head, "-" * len(head)]
    for w in workloads:
        for loss in losses:
            for d in dtypes:
                if all(ms(w, loss, d, i) is None for i in impls):
                    continue  # a loss this workload's output layer does not take
                row = f"{w:<8} {loss:<{width}} {d:<7} |"
                row += "".join(f" {_fmt_ms(ms(w, loss, d, i)):>9}" for i in impls)
                if SUBJECT in impls:
                    base = ms(w, loss, d, SUBJECT)
                    row += " |"
                    for other in others:
                        t = ms(w, loss, d, other)
                        row += f" {t / base:>9.2f}" if t and base else f" {'–':>9}"
                rows.append(row)
    out += rows

    others = [loss for loss in losses if loss != "mse"]
    if "mse" in losses and others:
        out += ["", "Loss-function cost: median ms per epoch per loss and implementation, and "
                "each loss's time over mse's (huber on a linear output; cross_entropy on C's "
                "softmax output, which has no mse column)."]  # fmt: skip
        head = (f"{'workload':<8} {'dtype':<7} {'impl':<8} | {'mse':>9} "
                + " ".join(f"{loss:>13}" for loss in others) + " | "
                + " ".join(f"{loss[:9] + '/mse':>13}" for loss in others))  # fmt: skip
        out += [head, "-" * len(head)]
        for w in workloads:
            for d in dtypes:
                for i in impls:
                    a = ms(w, "mse", d, i)
                    times = [ms(w, loss, d, i) for loss in others]
                    if a is None and not any(times):
                        continue
                    ratios = [f"{t / a:>13.2f}" if a and t else f"{'–':>13}" for t in times]
                    out.append(f"{w:<8} {d:<7} {i:<8} | {_fmt_ms(a):>9} "
                               + " ".join(f"{_fmt_ms(t):>13}" for t in times) + " | "
                               + " ".join(ratios))  # fmt: skip

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
            "Compile time of the numba kernels: seconds of the first fit + predict in a new "
            "process (never inside a timed round).",
            "cold = empty NUMBA_CACHE_DIR, warm = the same cache folder in a second process; "
            "python -m fastnet compile does the cold part once, ahead of time.",
        ]
        head = f"{'dtype':<7} {'loss (output)':<26} | {'cold s':>7} {'warm s':>7}"
        out += [head, "-" * len(head)]
        for row in report["compile"]:
            out.append(
                f"{row['dtype']:<7} {row['loss']:<26} | {row['cold']:>7.2f} {row['warm']:>7.3f}"
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


# --------------------------------------------------------------------------- sparse input
def format_sparse(report: dict, markdown: bool = False) -> str:
    """The sparse-input table (bench/test_bench_sparse.py): per implementation, the median ms
    per epoch, the others' time over fastnet's, and the peak memory of one fit beyond what the
    process held before it (RSS, and NumPy's buffers by ``tracemalloc``), also as the issue's
    ratio ``(matrix + peak) / matrix``."""
    rows = sorted(report["sparse"], key=lambda r: (r["implementation"] != SUBJECT,
                                                    r["implementation"]))  # fmt: skip
    first = rows[0]
    matrix = first["matrix_bytes"]
    base = next((r for r in rows if r["implementation"] == SUBJECT), None)

    def ms(r):
        return r["median_s"] * 1e3 / r["epochs"]

    def mb(b):
        return "–" if b is None else f"{b / 1e6:.1f}"

    def ratio(b):
        return "–" if b is None else f"{(matrix + b) / matrix:.2f}"

    dense_gb = first["n"] * first["d"] * 8 / 1e9
    title = (
        f"Sparse input: {first['n']:,} x {first['d']:,} CSR at {first['density']:.0%} "
        f"({first['nnz']:,} values, {matrix / 1e6:.1f} MB; dense {dense_gb:.1f} GB), "
        f"({first['d']}, {first['hidden']}, 1) log loss, full-batch GD, {first['dtype']}; "
        f"median of {first['rounds']} fits of {first['epochs']} epochs. Peak memory: one "
        "fit's, beyond what the process held before it (the matrix included there)."
    )
    head = ["implementation", "ms/epoch", f"× {SUBJECT}", "peak RSS MB", "(matrix+RSS)/matrix",
            "traced MB", "(matrix+traced)/matrix"]  # fmt: skip
    cells = []
    for r in rows:
        rss, traced = r["peak_rss_bytes"], r["peak_traced_bytes"]
        speed = f"{ms(r) / ms(base):.2f}" if base else "–"
        cells.append([r["implementation"], _fmt_ms(ms(r)), speed, mb(rss), ratio(rss),
                      mb(traced), ratio(traced)])  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join([title, "", *lines])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]

    def line(values):
        pairs = enumerate(zip(values, widths, strict=True))
        return " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs)

    top = line(head)
    return "\n".join([title, top, "-" * len(top), *map(line, cells)])


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


# --------------------------------------------------------------------------- time to target
def measure_time_to_target(
    case_list, methods, *, rounds: int | None, bar, checkpoint=None
) -> list:
    """``convergence.measure`` for every case and method; rows for those not applicable.

    A method that raises gets a row saying so (``stop="error"``, the traceback on stderr), so
    that one failing peer does not throw away an hour of measurements; ``checkpoint(results)``
    (if given) runs after every method, so that a run that is killed keeps what it measured.
    """
    results = []
    for problem, loss, dtype in case_list:
        for method in methods:
            bar.set_description(f"time to target: {problem} {loss} {dtype_name(dtype)} {method}")
            reason = convergence.unavailable(method, loss, dtype)
            if reason:
                results.append(convergence.not_applicable(problem, loss, dtype, method, reason))
            else:
                try:
                    results.append(
                        convergence.measure(method, problem, loss, dtype, rounds=rounds)
                    )
                except Exception as exc:  # noqa: BLE001 - reported in the table and on stderr
                    traceback.print_exc()
                    row = convergence.not_applicable(problem, loss, dtype, method, "")
                    row.stop, row.note = "error", f"failed: {type(exc).__name__}: {exc}"
                    results.append(row)
            bar.update(1)
            if checkpoint is not None:
                checkpoint(results)
    return results


def _ttt_cases(results) -> list[tuple[tuple[str, str, str], list]]:
    """``[((problem, loss, dtype), [results in METHODS order]), ...]`` in table order."""
    groups: dict = {}
    for r in results:
        groups.setdefault((r.problem, r.loss, r.dtype), []).append(r)
    problems = _ordered({k[0] for k in groups}, list(convergence.PROBLEMS))
    losses = _ordered({k[1] for k in groups}, list(LOSSES))
    dtypes = _ordered({k[2] for k in groups}, ["float64", "float32"])
    rank = {m: i for i, m in enumerate(convergence.METHODS)}
    return [
        (key, sorted(groups[key], key=lambda r: (rank.get(r.method, len(rank)), r.method)))
        for key in ((p, loss, d) for p in problems for loss in losses for d in dtypes)
        if key in groups
    ]


def best_subject(rows) -> convergence.Result | None:
    """The fastest fastnet method that reached the target (the ratios' denominator)."""
    timed = [
        r
        for r in rows
        if r.method.startswith(convergence.SUBJECT_PREFIX) and r.median_s is not None
    ]
    return min(timed, key=lambda r: r.median_s, default=None)


def _best_peer(rows) -> convergence.Result | None:
    timed = [
        r
        for r in rows
        if not r.method.startswith(convergence.SUBJECT_PREFIX) and r.median_s is not None
    ]
    return min(timed, key=lambda r: r.median_s, default=None)


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.4g}" if seconds < 100 else f"{seconds:.0f}"


def _ttt_outcome(r) -> str:
    """Why a row has no time: not applicable, not reached within the cap, stopped, diverged."""
    if r.stop in ("n/a", "error"):
        return r.note
    last = "?" if r.last_loss is None else f"{r.last_loss:.4g}"
    if r.stop == "diverged":
        return f"diverged after {r.searched} epochs"
    if r.stop == "stopped":
        return f"stopped itself after {r.searched} epochs at loss {last}"
    return f"not reached in {r.searched} epochs (loss {last})"


def _ratio(r, best) -> str:
    if r.median_s is None or best is None:
        return "–"
    return f"{r.median_s / best.median_s:.2f}"


def format_time_to_target(report: dict) -> str:
    """Per case: each method's epochs, evaluations and seconds to the target, and its time
    over fastnet's best; then a summary of the best fastnet method against the best peer."""
    grouped = _ttt_cases(report["time_to_target"])
    out = [
        "Time to target: seconds of a run of exactly the epochs (iterations, for L-BFGS) that "
        "first get the training loss below the target (median of the timed runs; data, initial "
        "weights, warm-up and search not timed). '× best' = seconds / the fastest fastnet "
        "method's seconds (> 1: slower). 'final' = the loss of the weights the timed run "
        "returned, by Network.loss.",
    ]
    width = max(len(m) for m in convergence.METHODS)
    for (problem, loss, dtype), rows in grouped:
        best = best_subject(rows)
        initial = next((r.initial_loss for r in rows if r.initial_loss is not None), None)
        out += [
            "",
            f"{problem} {loss} {dtype}: target {rows[0].target:g}"
            + (f", initial loss {initial:.4g}" if initial is not None else ""),
        ]
        head = (
            f"  {'method':<{width}} {'epochs':>7} {'evals':>7} {'seconds':>9} {'× best':>7} "
            f"{'final':>9}"
        )
        out += [head, "  " + "-" * (len(head) - 2)]
        for r in rows:
            if r.median_s is None:
                out.append(f"  {r.method:<{width}} {_ttt_outcome(r)}")
                continue
            final = "–" if r.final_loss is None else f"{r.final_loss:.4g}"
            flag = "" if r.final_loss is None or r.final_loss < r.target else "  (above target!)"
            out.append(
                f"  {r.method:<{width}} {r.epochs:>7} {r.evals if r.evals is not None else '–':>7}"
                f" {_fmt_s(r.median_s):>9} {_ratio(r, best):>7} {final:>9}{flag}"
            )
    out += ["", "Summary: the fastest fastnet method and the fastest peer per case."]
    head = (
        f"{'case':<26} {'target':>6} | {'fastnet best':<16} {'s':>9} | {'best peer':<13} "
        f"{'s':>9} | {'peer/fastnet':>12}"
    )
    out += [head, "-" * len(head)]
    for (problem, loss, dtype), rows in grouped:
        best, peer = best_subject(rows), _best_peer(rows)
        out.append(
            f"{problem + ' ' + loss + ' ' + dtype:<26} {rows[0].target:>6g} | "
            f"{best.method if best else '–':<16} {_fmt_s(best.median_s if best else None):>9} | "
            f"{peer.method if peer else '–':<13} {_fmt_s(peer.median_s if peer else None):>9} | "
            f"{_ratio(peer, best) if peer else '–':>12}"
        )
    order = {p: i for i, p in enumerate(convergence.PROBLEMS)}
    rounds = sorted(
        {(r.problem, r.rounds) for r in report["time_to_target"] if r.rounds},
        key=lambda pr: (order.get(pr[0], len(order)), pr),
    )
    if rounds:
        out += [
            "",
            "Timed runs per case (after the untimed warm-up, search and check runs): "
            + ", ".join(f"{p} {k}" for p, k in rounds)
            + ".",
        ]
    return "\n".join(out)


#: Markdown cells of rows without a time (``Result.stop``); the default: not reached in the cap.
_MD_MISSING = {
    "n/a": "n/a",
    "error": "error",
    "stopped": "stopped at {ep}",
    "diverged": "diverged",
}


def format_time_to_target_markdown(report: dict) -> str:
    """Markdown for README.md: the summary table, then per loss and dtype a table with a row
    per method and a column per problem (``seconds · × best · epochs/evals``)."""
    grouped = _ttt_cases(report["time_to_target"])
    lines = [
        "| case | target | fastnet best | s | best peer | s | peer / fastnet |",
        "|---|---|---|---|---|---|---|",
    ]
    for (problem, loss, dtype), rows in grouped:
        best, peer = best_subject(rows), _best_peer(rows)
        lines.append(
            f"| {problem} {loss} {dtype} | {rows[0].target:g} | "
            f"{best.method if best else '–'} | {_fmt_s(best.median_s if best else None)} | "
            f"{peer.method if peer else '–'} | {_fmt_s(peer.median_s if peer else None)} | "
            f"{_ratio(peer, best) if peer else '–'} |"
        )
    by_table: dict = {}
    for (problem, loss, dtype), rows in grouped:
        by_table.setdefault((loss, dtype), {})[problem] = rows
    for (loss, dtype), columns in by_table.items():
        problems = list(columns)
        methods = _ordered(
            {r.method for rows in columns.values() for r in rows}, list(convergence.METHODS)
        )
        targets = ", ".join(f"{p} {columns[p][0].target:g}" for p in problems)
        lines += [
            "",
            f"**{loss}, {dtype}** (targets: {targets})",
            "",
            "| method | " + " | ".join(problems) + " |",
            "|---|" + "---|" * len(problems),
        ]
        for method in methods:
            cells = []
            for p in problems:
                rows = columns[p]
                r = next((r for r in rows if r.method == method), None)
                if r is None:
                    cells.append("")
                elif r.median_s is None:
                    cells.append(_MD_MISSING.get(r.stop, "> {ep} ep").format(ep=r.searched))
                else:
                    evals = "–" if r.evals is None else r.evals
                    cells.append(
                        f"{_fmt_s(r.median_s)} · ×{_ratio(r, best_subject(rows))} · "
                        f"{r.epochs}/{evals}"
                    )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    h = report["header"]
    libs = ", ".join(f"{k} {v}" for k, v in h["libraries"].items() if v != "not installed")
    lines += [
        "",
        "Seconds to a model whose training loss is below the target (median of the timed runs "
        "of exactly that many epochs or iterations) · × the fastest fastnet method · "
        "epochs (iterations) / loss+gradient evaluations; `> N ep`: not reached in N epochs; "
        "`stopped at N`: the method stopped itself (no step lowered the loss) above the target; "
        f"n/a: not applicable. {h['date']}"
        + (f", commit {h['commit']}" if h.get("commit") else "")
        + f"; {h['cpu']}, {h['cores']} cores, numba threads {h['numba_threads']}"
        + (f", torch threads {h['torch_threads']}" if "torch_threads" in h else "")
        + f"; {libs}.",
    ]
    return "\n".join(lines)


def plot_time_to_target(report: dict, path: str | os.PathLike) -> None:
    """PNG: seconds to the target per problem, a bar per method (log scale; peers hatched), a
    panel per loss and dtype; an ``x`` above a method's slot where it did not reach the target."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit(_NO_MATPLOTLIB) from exc
    grouped = _ttt_cases(report["time_to_target"])
    panels = _ordered(
        {(k[1], k[2]) for k, _ in grouped},
        [(loss, d) for loss in LOSSES for d in ("float64", "float32")],
    )
    methods = _ordered(
        {r.method for _, rows in grouped for r in rows if r.stop not in ("n/a", "error")},
        list(convergence.METHODS),
    )
    if not methods:
        raise SystemExit("--plot: no time-to-target results to plot")
    cols = min(2, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(7.5 * cols, 4.4 * nrows), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    width = 0.84 / len(methods)
    for ax, (loss, dtype) in zip(axes.flat, panels, strict=False):
        cells = {k[0]: rows for k, rows in grouped if k[1] == loss and k[2] == dtype}
        problems = list(cells)
        x = np.arange(len(problems))
        for k, method in enumerate(methods):
            offset = x + (k - (len(methods) - 1) / 2) * width
            ys, missed = [], []
            for i, p in enumerate(problems):
                r = next((r for r in cells[p] if r.method == method), None)
                ys.append(r.median_s if r is not None and r.median_s is not None else np.nan)
                if r is not None and r.median_s is None and r.stop not in ("n/a", "error"):
                    missed.append(offset[i])
            peer = not method.startswith(convergence.SUBJECT_PREFIX)
            ax.bar(offset, ys, width, label=method, color=colours[k % len(colours)],
                   hatch="//" if peer else None, edgecolor="white" if peer else None)  # fmt: skip
            if missed:
                ax.plot(missed, [1.0] * len(missed), "x", color=colours[k % len(colours)],
                        transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{p}\n(target {cells[p][0].target:g})" for p in problems])
        ax.set_ylabel("seconds to the target (log)")
        ax.set_title(f"{loss} loss, {dtype} (x: not reached)", fontsize=10)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(methods)), fontsize=8)
    h = report["header"]
    fig.suptitle(
        f"Time to a training-loss target — {h['cpu']}, numba threads {h['numba_threads']}, "
        f"{h['date']}" + (f", {h['commit']}" if h.get("commit") else ""),
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.06 + 0.02 * math.ceil(len(methods) / 6), 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- command line
def write_json(report: dict, path: str | os.PathLike) -> None:
    """``report`` as the JSON that ``load`` reads (written to a temporary file, then renamed)."""
    data = {
        **report,
        "results": [asdict(r) for r in report.get("results", [])],
        "time_to_target": [asdict(r) for r in report.get("time_to_target", [])],
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def _listed(per_name: dict) -> str:
    """``{"S": 5, "M": 3}`` as plain text for a help string: ``S 5, M 3``."""
    return ", ".join(f"{name} {value}" for name, value in per_name.items())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastnet bench",
        description="Time fastnet against the NumPy baseline (and JAX / PyTorch when "
        "installed) on the workloads of docs/design.md section 4, both losses, both dtypes; "
        "or, with --time-to-target, time every optimizer (fastnet's, scikit-learn's, PyTorch's, "
        "FANN's) to a fixed training-loss target.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"workloads S and M only, fewer epochs per timed call ({_listed(QUICK_EPOCHS)}; "
        "about a minute on 2 cores); with --time-to-target: problems "
        + ", ".join(convergence.QUICK_PROBLEMS)
        + " only",
    )
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    p.add_argument(
        "--plot",
        metavar="OUT",
        help="write a PNG of the speedups, or of the times to target (needs matplotlib)",
    )
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
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown too")
    p.add_argument(
        "--rounds",
        type=int,
        help=f"timed calls per case (default {_listed(ROUNDS)}; time to target: "
        + _listed({k: v.rounds for k, v in convergence.PROBLEMS.items()})
        + ")",
    )
    p.add_argument(
        "--no-compile",
        action="store_true",
        help="skip the cold/warm-cache compile-time measurement",
    )
    p.add_argument("--losses", nargs="+", choices=list(LOSSES), help="losses (default: both)")
    p.add_argument(
        "--dtypes", nargs="+", choices=["float64", "float32"], help="dtypes (default: both)"
    )
    ttt = p.add_argument_group("time to target (fastnet.convergence)")
    ttt.add_argument(
        "--time-to-target",
        action="store_true",
        help="time each optimizer to a fixed training-loss target instead of timing epochs "
        "(a full run takes about an hour on 2 cores; --quick a few minutes)",
    )
    ttt.add_argument(
        "--problems",
        nargs="+",
        choices=list(convergence.PROBLEMS),
        help="problems to run (default: all; "
        + " ".join(convergence.QUICK_PROBLEMS)
        + " with --quick)",
    )
    ttt.add_argument(
        "--methods",
        nargs="+",
        choices=list(convergence.METHODS),
        metavar="METHOD",
        help="methods to run (default: every one installed): " + ", ".join(convergence.METHODS),
    )
    return p


def _available(wanted, why_not) -> list[str]:
    """``wanted`` less those ``why_not(name)`` gives a reason for (printed to stderr)."""
    chosen = []
    for name in wanted:
        reason = why_not(name)
        if reason:
            print(f"skipping {reason}", file=sys.stderr)
        else:
            chosen.append(name)
    if not chosen:
        raise SystemExit("nothing to run: none of the chosen implementations is installed")
    return chosen


def run_report(args: argparse.Namespace) -> dict:
    if args.rounds is not None and args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    losses = tuple(args.losses or LOSSES)
    dtypes = tuple(np.dtype(d).type for d in (args.dtypes or ("float64", "float32")))
    busy = cpu_busy()
    if args.time_to_target:
        problems = args.problems or list(
            convergence.QUICK_PROBLEMS if args.quick else convergence.PROBLEMS
        )
        methods = _available(args.methods or list(convergence.METHODS), convergence.unavailable)
        case_list = convergence.cases(problems, losses, dtypes)
        header = machine_header(methods)
        header.update(quick=args.quick, busy_before=busy, section="time-to-target")
        report = {
            "format": FORMAT,
            "header": header,
            "results": [],
            "compile": [],
            "time_to_target": [],
        }

        def checkpoint(ttt):  # the --json file so far: a killed run keeps its measurements
            write_json({**report, "time_to_target": ttt}, args.json)

        bar = _progress(len(case_list) * len(methods))
        try:
            report["time_to_target"] = measure_time_to_target(
                case_list, methods, rounds=args.rounds, bar=bar,
                checkpoint=checkpoint if args.json else None,
            )  # fmt: skip
        finally:
            bar.close()
        if "torch_threads" in header:  # as the torch methods set it (numba's thread count)
            header["torch_threads"] = sys.modules["torch"].get_num_threads()
        return report
    workloads = args.workloads or [
        w for w in WORKLOADS if not (args.quick and w in SLOW_WORKLOADS)
    ]
    implementations = _available(args.implementations or list(IMPLEMENTATIONS), unavailable)
    case_list = cases(workloads, losses, dtypes)
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
    return {
        "format": FORMAT,
        "header": header,
        "results": results,
        "compile": compile_rows,
        "time_to_target": [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.problems or args.methods) and not args.time_to_target:
        parser.error("--problems and --methods need --time-to-target")
    if args.time_to_target and (args.workloads or args.implementations):
        parser.error("--workloads and --implementations are for the per-epoch benchmark")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        # Say so now, not after minutes of timing.
        raise SystemExit(_NO_MATPLOTLIB)
    if args.source:
        report = load(args.source)
    else:
        report = run_report(args)
    results, ttt = report.get("results", []), report.get("time_to_target", [])
    print(format_header(report["header"]))
    if results:
        print()
        print(format_tables(report))
    if ttt:
        print()
        print(format_time_to_target(report))
    if report.get("sparse"):
        print()
        print(format_sparse(report))
    if args.markdown:
        if results:
            print()
            print(format_markdown(report))
        if ttt:
            print()
            print(format_time_to_target_markdown(report))
        if report.get("sparse"):
            print()
            print(format_sparse(report, markdown=True))
    if args.json:
        write_json(report, args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        if results:
            plot(report, args.plot)
            print(f"wrote {args.plot}")
        if ttt:
            path = Path(args.plot)
            if results:  # both sections in one file: the second plot gets its own name
                path = path.with_name(f"{path.stem}-time-to-target{path.suffix}")
            plot_time_to_target(report, path)
            print(f"wrote {path}")
    return 0
