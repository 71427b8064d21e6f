"""Packaging: every third-party package that ``fastnet/`` imports is declared in
``pyproject.toml``, the optional ones only in extras and only imported lazily, and a missing
optional package is an ImportError that says what to install."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fastnet"

#: Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn"}
#: Imported (lazily, by benchmark tooling) but not installable with pip, with the reason.
NOT_FROM_PIP = {
    "fann2": "pip cannot build FANN's binding; fastnet/convergence.py says how to install it",
}


def normalise(name: str) -> str:
    """PEP 503's normalised form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group())


def declared() -> tuple[set[str], set[str]]:
    """``(core dependencies, everything in an extra)``, as normalised distribution names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {requirement_name(r) for r in project["dependencies"]}
    extras = {
        requirement_name(r) for reqs in project["optional-dependencies"].values() for r in reqs
    }
    return core, extras - {normalise(project["name"])}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names
    )


def third_party_imports(path: Path) -> list[tuple[str, int, str]]:
    """``(top-level module, line, how)`` of each non-stdlib import in ``path``; ``how`` is
    ``"eager"`` (runs when the module is imported), ``"guarded"`` (module level, inside a
    ``try`` that catches ImportError), ``"lazy"`` (inside a function) or ``"typing"``."""
    found = []

    def visit(node: ast.AST, how: str) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.level:
                return
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "fastnet":
                    found.append((top, node.lineno, how))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            how = "lazy" if how != "typing" else how
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                visit(child, "typing")
            for child in node.orelse:
                visit(child, how)
            return
        elif isinstance(node, ast.Try) and any(map(_catches_import_error, node.handlers)):
            for child in node.body:
                visit(child, "guarded" if how == "eager" else how)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, how)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, how)

    visit(ast.parse(path.read_text(), str(path)), "eager")
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_scan_tells_eager_guarded_lazy_and_typing_imports_apart(tmp_path):
    """(So the test below cannot pass by classifying everything as lazy.)"""
    module = tmp_path / "m.py"
    module.write_text(
        textwrap.dedent(
            """\
            import os
            import numpy.linalg
            from typing import TYPE_CHECKING
            from . import sibling
            try:
                import dask.array as da
            except ImportError as exc:
                raise ImportError("pip install ...") from exc
            if TYPE_CHECKING:
                import pandas

            def f():
                from tqdm.auto import tqdm
            """
        )
    )
    assert third_party_imports(module) == [
        ("numpy", 2, "eager"),
        ("dask", 6, "guarded"),
        ("pandas", 10, "typing"),
        ("tqdm", 13, "lazy"),
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_is_declared(path):
    core, extras = declared()
    for top, line, how in third_party_imports(path):
        where = f"{path.relative_to(ROOT)}:{line} imports {top}"
        if top in NOT_FROM_PIP:
            assert how == "lazy", f"{where} at import time, but it is not installable with pip"
            continue
        dist = normalise(DISTRIBUTIONS.get(top, top))
        if how == "eager":
            assert dist in core, (
                f"{where} when fastnet is imported: declare {dist} in dependencies"
            )
        elif how != "typing":
            assert dist in core | extras, f"{where}: declare {dist} in an extra"


@pytest.mark.parametrize(
    ("missing", "code", "message"),
    [
        ("dask", "import fastnet.distributed", "pip install 'fastnet-numba[dask]'"),
        (
            "tqdm",
            "import numpy as np, fastnet\n"
            "fastnet.Network((2, 1)).fit(np.zeros((3, 2)), np.zeros(3), progress=True)",
            "pip install 'fastnet-numba[progress]'",
        ),
    ],
)
def test_a_missing_optional_package_says_what_to_install(missing, code, message):
    """(matplotlib's message is tested in test_plotting.py and test_report.py.)"""
    script = f"import sys\nsys.modules[{missing!r}] = None  # import {missing} fails\n" + code
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode != 0
    assert "ImportError" in run.stderr and message in run.stderr, run.stderr
