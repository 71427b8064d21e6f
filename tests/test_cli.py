"""The command line: ``fastnet --version`` / ``python -m fastnet --version``, the ``fastnet``
console script, and a plain-text help string for every option of every parser."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import fastnet
from fastnet import cli, report

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_python_m_fastnet_version():
    run = subprocess.run(
        [sys.executable, "-m", "fastnet", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"fastnet {fastnet.__version__}\n"


def test_console_script_is_declared_and_prints_the_version(capsys):
    """``fastnet`` is ``[project.scripts]``'s entry point; loading it the way the installed
    script does and calling it with ``--version`` prints the version."""
    target = PYPROJECT["project"]["scripts"]["fastnet"]
    main = EntryPoint("fastnet", target, "console_scripts").load()
    assert main is cli.main
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"fastnet {fastnet.__version__}\n"


def test_the_version_has_one_source():
    """pyproject.toml takes the version from ``fastnet.__version__`` (hatchling's regex)."""
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    source = ROOT / PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert source == Path(fastnet.__file__)
    found = re.findall(r'^__version__\s*=\s*["\']([^"\']+)["\']', source.read_text(), re.M)
    assert found == [fastnet.__version__]
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", fastnet.__version__)


def parsers(parser: argparse.ArgumentParser, name: str):
    """``(name, parser)`` for ``parser`` and each of its sub-commands, recursively."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from parsers(sub, f"{name} {command}")


PARSERS = [
    *parsers(cli.build_parser(), "python -m fastnet"),
    *parsers(report.build_parser(), "python -m fastnet bench"),
]


def test_the_walk_finds_every_parser():
    names = [name for name, _ in PARSERS]
    assert names == [
        "python -m fastnet",
        "python -m fastnet demo",
        "python -m fastnet bench",
        "python -m fastnet compile",
        "python -m fastnet bench",
    ]  # cli's "bench" is a placeholder: main() hands bench's arguments to report's parser


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
def test_every_option_has_plain_text_help(name, parser):
    for action in parser._actions:
        what = f"{name}: {'/'.join(action.option_strings) or action.dest}"
        assert isinstance(action.help, str) and action.help.strip(), f"{what} has no help"
        assert action.help != argparse.SUPPRESS, f"{what} is hidden"
    text = parser.format_help()
    assert "``" not in text, f"{name} --help has reStructuredText markup"
    assert not re.search(r"[{\[]'", text), f"{name} --help prints a Python repr"
    assert ":func:" not in text and ":class:" not in text


_NOTHING_COMPILES = """
import numpy as np
from numba.core import event
from fastnet.warmup import compile_all

compiled = []
class Listener(event.Listener):
    def on_start(self, e):
        compiled.append(e.data["dispatcher"].py_func.__name__)
    def on_end(self, e):
        pass
event.register("numba:compile", Listener())
compile_all([np.float32])
assert compiled == [], compiled
print("nothing compiled")
"""


def test_compile_fills_the_cache_so_a_new_process_compiles_nothing(tmp_path):
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "fastnet", "compile", "--dtype", "float32"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "fit lbfgs (float32)" in run.stdout and "done in" in run.stdout
    assert any(tmp_path.rglob("*train*.nbi")), "nothing was written to NUMBA_CACHE_DIR"
    # a new process with that cache: every step of ``compile`` loads, nothing compiles
    again = subprocess.run(
        [sys.executable, "-c", _NOTHING_COMPILES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "nothing compiled" in again.stdout
