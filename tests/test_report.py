"""The benchmark report: reading results, the tables' arithmetic, the plot, the CLI."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from fastnet import report
from fastnet.benchmarks import IMPLEMENTATIONS, smoke_workload, unavailable
from fastnet.data import WORKLOADS

HEADER = {
    "date": "2026-01-01 00:00 UTC",
    "commit": "abc1234",
    "machine": "box (Linux x86_64)",
    "cpu": "Some CPU",
    "cores": 2,
    "numba_threads": 2,
    "libraries": {"python": "3.11", "numpy": "2.0", "jax": "not installed"},
}


def result(impl, ms, workload="S", loss="mse", dtype="float64", epochs=100):
    """A result whose median call takes ``ms`` milliseconds per epoch."""
    return report.Result(workload, loss, dtype, impl, epochs, ms * epochs / 1e3, 3)


def pytest_benchmark_json(entries):
    """The parts of pytest-benchmark's ``--benchmark-json`` output that the report reads."""
    return {
        "machine_info": {
            "node": "box",
            "system": "Linux",
            "machine": "x86_64",
            "python_version": "3.11.7",
            "cpu": {"brand_raw": "Some CPU", "count": 2},
            "numba_threads": 2,
            "libraries": {"python": "3.11.7"},
        },
        "commit_info": {"id": "0123456789abcdef", "dirty": False},
        "benchmarks": [
            {
                "group": f"{w}|{loss}|{dt}",
                "name": f"test_train[{w}-{loss}-{dt}-{impl}]",
                "extra_info": {
                    "implementation": impl,
                    "workload": w,
                    "loss": loss,
                    "dtype": dt,
                    "epochs": epochs,
                    "n": 1000,
                },
                "stats": {"median": median, "rounds": 5, "data": [median] * 5},
            }
            for w, loss, dt, impl, epochs, median in entries
        ]
        + [  # a design-decision benchmark: not part of the comparison table
            {
                "group": "threads|S|mse|float64",
                "name": "test_threads[S-mse-float64-1]",
                "extra_info": {"decision": "threads", "threads": 1, "epochs": 2000},
                "stats": {"median": 1.0, "rounds": 3},
            }
        ],
        "datetime": "2026-01-01T00:00:00",
        "version": "5.2.3",
    }


def test_ms_per_epoch_is_the_median_call_divided_by_the_epochs():
    r = report.Result("S", "mse", "float64", "numpy", 2000, median_s=0.86, rounds=5)
    assert r.ms_per_epoch == pytest.approx(0.43)


def test_speedups_are_other_time_over_fastnet_time():
    rep = {
        "header": HEADER,
        "results": [result("fastnet", 0.1), result("numpy", 0.45), result("torch", 0.02)],
    }
    lines = report.format_tables(rep).splitlines()
    row = next(line for line in lines if line.startswith("S        mse  float64"))
    cells = row.split("|")
    assert cells[1].split() == ["0.1", "0.45", "0.02"]
    assert [float(c) for c in cells[2].split()] == [4.5, 0.2]


def test_loss_table_puts_mse_and_log_side_by_side():
    rep = {
        "header": HEADER,
        "results": [
            result("fastnet", 0.2, loss="mse"),
            result("fastnet", 0.3, loss="log"),
            result("numpy", 0.4, loss="mse"),
            result("numpy", 0.2, loss="log"),
        ],
    }
    text = report.format_tables(rep)
    fastnet_row = next(line for line in text.splitlines() if "fastnet  |" in line)
    numpy_row = next(line for line in text.splitlines() if "numpy    |" in line)
    assert fastnet_row.split("|")[1].split() == ["0.2", "0.3"]  # ms per epoch: mse, log
    assert fastnet_row.split("|")[2].split() == ["1.50"]  # log over mse
    assert numpy_row.split("|")[1].split() == ["0.4", "0.2"]
    assert numpy_row.split("|")[2].split() == ["0.50"]


def test_loss_table_has_every_loss_and_its_ratio_to_mse():
    rep = {
        "header": HEADER,
        "results": [
            result("fastnet", 0.2, loss="mse"),
            result("fastnet", 0.3, loss="log"),
            result("fastnet", 0.22, loss="huber"),
        ],
    }
    text = report.format_tables(rep)
    head = next(line for line in text.splitlines() if "huber/mse" in line)
    assert head.split("|")[1].split() == ["mse", "log", "huber"]
    row = next(line for line in text.splitlines() if "fastnet  |" in line)
    assert row.split("|")[1].split() == ["0.2", "0.3", "0.22"]
    assert row.split("|")[2].split() == ["1.50", "1.10"]


def test_a_missing_implementation_shows_a_dash_not_a_ratio():
    rep = {"header": HEADER, "results": [result("fastnet", 0.1), result("jax", 0.2, loss="log")]}
    text = report.format_tables(rep)
    row = next(line for line in text.splitlines() if line.startswith("S        mse"))
    assert row.split("|")[2].split() == ["–"]


def test_reads_pytest_benchmark_json(tmp_path):
    path = tmp_path / "pb.json"
    entries = [
        ("S", "mse", "float64", "fastnet", 2000, 0.2),
        ("S", "mse", "float64", "numpy", 2000, 0.8),
    ]
    path.write_text(json.dumps(pytest_benchmark_json(entries)))
    rep = report.load(path)
    assert [(r.implementation, r.ms_per_epoch) for r in rep["results"]] == [
        ("fastnet", pytest.approx(0.1)),
        ("numpy", pytest.approx(0.4)),
    ]
    assert rep["header"]["cpu"] == "Some CPU"
    assert rep["header"]["commit"] == "0123456"


def test_from_json_round_trips_through_the_reports_own_format(tmp_path, capsys):
    src, out = tmp_path / "pb.json", tmp_path / "out.json"
    entries = [
        ("M", loss, dt, impl, 200, median)
        for loss in ("mse", "log")
        for dt in ("float64", "float32")
        for impl, median in (("fastnet", 1.0), ("numpy", 3.0))
    ]
    src.write_text(json.dumps(pytest_benchmark_json(entries)))
    assert report.main(["--from", str(src), "--json", str(out)]) == 0
    first = capsys.readouterr().out
    assert "Some CPU" in first and "3.00" in first
    again = report.load(out)
    assert len(again["results"]) == 8
    assert report.main(["--from", str(out)]) == 0
    second = capsys.readouterr().out
    assert report.format_tables(again) in second


def test_unknown_json_is_a_clear_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="neither"):
        report.load(path)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    rep = {
        "header": HEADER,
        "results": [
            result(impl, ms, w, loss, dt)
            for w in ("S", "M")
            for loss in ("mse", "log")
            for dt in ("float64", "float32")
            for impl, ms in (("fastnet", 0.1), ("numpy", 0.4))
        ],
    }
    path = tmp_path / "speedup.png"
    report.plot(rep, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    rep = {"header": HEADER, "results": [result("fastnet", 0.1), result("numpy", 0.4)]}
    with pytest.raises(SystemExit, match=r"pip install 'fastnet-numba\[plot\]'"):
        report.plot(rep, tmp_path / "x.png")


def test_header_names_cpu_threads_and_versions():
    header = report.machine_header([])
    text = report.format_header(header)
    assert header["cpu"] and header["cpu"] in text
    assert f"numba {header['numba_threads']}" in text
    assert f"numpy {np.__version__}" in text


def test_unknown_implementation_is_a_value_error():
    with pytest.raises(ValueError, match="valid: fastnet, numpy"):
        unavailable("tensorflow")


def test_a_missing_peer_is_reported_with_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "jax" else real(name)
    )
    assert "pip install 'fastnet-numba[peers]'" in unavailable("jax")
    assert unavailable("fastnet") is None


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
def test_each_call_of_a_run_starts_from_the_same_weights(impl):
    if unavailable(impl):
        pytest.skip(unavailable(impl))
    run = IMPLEMENTATIONS[impl](smoke_workload(WORKLOADS["S"]), "log", np.float64)
    np.testing.assert_array_equal(run(), run())


def test_markdown_table_has_a_row_per_case_and_the_speedups():
    rep = {
        "header": HEADER,
        "results": [result("fastnet", 0.5, loss=loss) for loss in ("mse", "log")]
        + [result("numpy", 2.0, loss="mse"), result("numpy", 1.0, loss="log")],
    }
    lines = report.format_markdown(rep).splitlines()
    assert lines[0] == "| case | fastnet ms | numpy ms | × numpy |"
    assert lines[2] == "| S mse float64 | 0.5 | 2 | 4.00 |"
    assert lines[3] == "| S log float64 | 0.5 | 1 | 2.00 |"
    assert "Some CPU" in lines[-1]


def test_plot_without_matplotlib_fails_before_any_timing(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "matplotlib" else real(name)
    )
    monkeypatch.setattr(report, "run_report", lambda args: pytest.fail("timing started"))
    with pytest.raises(SystemExit, match=r"fastnet-numba\[plot\]"):
        report.main(["--quick", "--plot", str(tmp_path / "x.png")])


# --------------------------------------------------------------------------- time to target
def ttt(method, seconds, problem="S", loss="log", dtype="float64", epochs=10, evals=None, **kw):
    """A time-to-target row: reached in ``seconds`` (None: not reached within 500 epochs)."""
    from fastnet.convergence import Result

    reached = seconds is not None
    return Result(
        problem=problem, loss=loss, dtype=dtype, method=method, target=0.25, reached=reached,
        epochs=epochs if reached else None, evals=(evals or epochs) if reached else None,
        median_s=seconds, rounds=3 if reached else 0, initial_loss=0.7,
        last_loss=0.2 if reached else 0.3, searched=epochs if reached else 500,
        final_loss=0.24 if reached else None, stop="reached" if reached else "cap",
        times_s=[seconds] * 3 if reached else [], **kw,
    )  # fmt: skip


def ttt_report():
    from fastnet.convergence import not_applicable

    return {
        "header": {**HEADER, "section": "time-to-target"},
        "results": [],
        "time_to_target": [
            ttt("fastnet-gd", 2.0, epochs=400),
            ttt("fastnet-momentum", None),
            ttt("fastnet-lbfgs", 0.5, evals=12),
            ttt("torch-lbfgs", 1.0, evals=12),
            not_applicable("S", "log", "float64", "fann-rprop", "fann-rprop: FANN: MSE only"),
        ],
    }


def test_time_to_target_rows_give_epochs_evals_seconds_and_the_ratio_to_fastnets_best():
    text = report.format_time_to_target(ttt_report())
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("  ")}
    assert rows["fastnet-gd"][1:5] == ["400", "400", "2", "4.00"]
    assert rows["fastnet-lbfgs"][1:5] == ["10", "12", "0.5", "1.00"]
    assert rows["torch-lbfgs"][1:5] == ["10", "12", "1", "2.00"]
    assert "not reached in 500 epochs (loss 0.3)" in text
    assert "fann-rprop       FANN: MSE only" in text
    summary = next(line for line in text.splitlines() if line.startswith("S log float64 "))
    assert summary.split("|")[1].split() == ["fastnet-lbfgs", "0.5"]
    assert summary.split("|")[2].split() == ["torch-lbfgs", "1"]
    assert summary.split("|")[3].split() == ["2.00"]


def test_time_to_target_markdown_has_the_summary_and_a_cell_per_method_and_problem():
    lines = report.format_time_to_target_markdown(ttt_report()).splitlines()
    assert lines[2] == "| S log float64 | 0.25 | fastnet-lbfgs | 0.5 | torch-lbfgs | 1 | 2.00 |"
    assert "| fastnet-gd | 2 · ×4.00 · 400/400 |" in lines
    assert "| fastnet-momentum | > 500 ep |" in lines
    assert "| fann-rprop | n/a |" in lines
    assert "Some CPU" in lines[-1]


def test_time_to_target_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    rep = ttt_report()
    rep["time_to_target"] += [ttt("fastnet-gd", 3.0, problem="M", dtype="float32")]
    path = tmp_path / "ttt.png"
    report.plot_time_to_target(rep, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_time_to_target_json_round_trips(tmp_path, capsys):
    from dataclasses import asdict

    rep = ttt_report()
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    data = {**rep, "format": report.FORMAT, "compile": []}
    data["time_to_target"] = [asdict(r) for r in rep["time_to_target"]]
    src.write_text(json.dumps(data))
    assert report.main(["--from", str(src), "--json", str(out), "--markdown"]) == 0
    first = capsys.readouterr().out
    assert report.format_time_to_target(report.load(src)) in first
    assert "| S log float64 |" in first
    assert report.load(out)["time_to_target"] == report.load(src)["time_to_target"]


def test_reads_time_to_target_benchmarks_from_pytest_benchmark_json(tmp_path):
    data = pytest_benchmark_json([])
    data["benchmarks"].append(
        {
            "group": "ttt|S|log|float64",
            "name": "test_time_to_target[S-log-float64-fastnet-rprop]",
            "extra_info": {
                "method": "fastnet-rprop",
                "problem": "S",
                "loss": "log",
                "dtype": "float64",
                "target": 0.25,
                "epochs": 11,
                "evals": 11,
                "initial_loss": 0.7,
                "last_loss": 0.24,
                "searched": 12,
                "final_loss": 0.24,
                "n": 1000,
            },  # fmt: skip
            "stats": {"median": 0.002, "rounds": 5, "data": [0.002] * 5},
        }
    )
    path = tmp_path / "pb.json"
    path.write_text(json.dumps(data))
    rep = report.load(path)
    assert rep["results"] == []
    (r,) = rep["time_to_target"]
    assert (r.method, r.epochs, r.evals, r.median_s, r.rounds) == (
        "fastnet-rprop",
        11,
        11,
        0.002,
        5,
    )


def test_time_to_target_run_end_to_end(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(report, "cpu_busy", lambda: None)
    argv = ["--time-to-target", "--problems", "S", "--methods", "fastnet-rprop"]
    argv += ["--losses", "log", "--dtypes", "float64", "--rounds", "1"]
    argv += ["--json", str(tmp_path / "ttt.json")]
    assert report.main(argv) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("  fastnet-rprop"))
    epochs, evals = (int(v) for v in row.split()[1:3])
    assert 1 <= epochs == evals < 100
    assert float(row.split()[-1]) < 0.25  # the judge's loss of the timed run's weights
    (saved,) = report.load(tmp_path / "ttt.json")["time_to_target"]
    assert (saved.method, saved.epochs, saved.reached) == ("fastnet-rprop", epochs, True)
    assert not (tmp_path / "ttt.json.tmp").exists()


def test_problems_and_methods_need_time_to_target():
    with pytest.raises(SystemExit):
        report.main(["--problems", "S"])


def test_unavailable_methods_say_why():
    from fastnet.convergence import unavailable

    assert "identity" in unavailable("sklearn-adam", "mse", np.float64)
    assert unavailable("sklearn-adam", "log", np.float32) is None or "installed" in unavailable(
        "sklearn-adam", "log", np.float32
    )
    assert unavailable("fastnet-lbfgs", "mse", np.float32) is None
    with pytest.raises(ValueError, match="valid: fastnet-gd"):
        unavailable("keras-adam")


def test_fann_connection_layout_round_trips():
    from fastnet.convergence import fann_connections, fann_weights
    from fastnet.data import initial_weights

    layers = (3, 4, 2, 1)
    weights = initial_weights(layers)
    weights = [(W, b + 0.1 * (i + 1)) for i, (W, b) in enumerate(weights)]
    sources, values = fann_connections(weights)
    # neurons: inputs 0-2, bias 3; hidden 4-7, bias 8; hidden 9-10, bias 11; output 12
    assert sources[:4] == [0, 1, 2, 3] and sources[16:21] == [4, 5, 6, 7, 8]
    assert sources[-3:] == [9, 10, 11]
    text = "connections (connected_to_neuron, weight)=" + "".join(
        f"({s}, {v:.20e}) " for s, v in zip(sources, values, strict=True)
    )
    for (W, b), (W2, b2) in zip(weights, fann_weights(text, layers), strict=True):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


def test_thin_keeps_the_first_and_last_epoch():
    from fastnet.convergence import thin

    curve = thin(np.linspace(1, 0, 1000), points=20)
    assert curve[0] == [0, 1.0] and curve[-1] == [999, 0.0]
    assert len(curve) <= 22
    assert thin(np.array([])) == []
