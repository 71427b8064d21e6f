"""Shared fixtures of the benchmark suites.

pyproject's ``addopts`` has ``--benchmark-disable``, so the default ``python -m pytest`` run
executes every benchmark once, as a smoke test, on small data (``smoke`` below). Timing needs
``--benchmark-only`` (or ``--benchmark-enable``), which then uses the full sizes of
docs/design.md section 4.
"""

from __future__ import annotations

import platform
import sys

import numba
import pytest

from fastnet.report import library_versions


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # ``--benchmark-only`` with the ``--benchmark-disable`` of addopts is a usage error in
    # pytest-benchmark; asking for benchmarks only (or for saved results) means "time them",
    # so turn them on. This runs before pytest-benchmark reads the options (trylast there).
    wants_timing = any(
        config.getoption(name, None)
        for name in ("benchmark_only", "benchmark_save", "benchmark_autosave", "benchmark_json")
    )
    if wants_timing and hasattr(config.option, "benchmark_enable"):
        config.option.benchmark_enable = True


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record what the report's header shows: threads and library versions."""
    machine_info["numba_threads"] = numba.get_num_threads()
    machine_info["libraries"] = library_versions()
    machine_info.setdefault("node", platform.node())
    torch = sys.modules.get("torch")  # imported only if the torch benchmarks ran
    if torch is not None:
        machine_info["torch_threads"] = torch.get_num_threads()


@pytest.fixture
def smoke(benchmark) -> bool:
    """True when benchmarks are disabled: run each case once, on small data."""
    return benchmark.disabled


@pytest.fixture
def threads():
    """Restore numba's thread count after a test that changes it."""
    before = numba.get_num_threads()
    yield numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(before)
