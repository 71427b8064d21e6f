"""README.md's examples run: each fenced ``python`` block runs on its own, exactly as written, as
a script in a new process (in a temporary directory, with this checkout's ``fastnet``), and its
install lines name this checkout's extras."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def python_blocks() -> list[tuple[str, str]]:
    """``(heading above it, code)`` of each fenced python block, in order."""
    blocks = []
    for match in FENCE.finditer(README):
        if match.group(1) == "python":
            headings = re.findall(r"^#+ (.+)$", README[: match.start()], re.M)
            blocks.append((headings[-1], match.group(2)))
    return blocks


BLOCKS = python_blocks()

#: Optional packages (extras) a block needs: the ones it imports, and these uses.
OPTIONAL = ("dask", "distributed", "matplotlib", "tqdm", "torch", "jax")
USES = {"progress=True": "tqdm", "verbose=1": "tqdm", "plot_history": "matplotlib"}

#: Checks run in the block's namespace after it ran: what its comments say it prints.
CHECKS = {
    "Usage": "assert round(net.score(X_te, y_te), 3) == 0.977",
    "scikit-learn": "assert round(clf.score(X_te, y_te), 3) == 0.965 and fitted.n_iter_ == 32",
    "Sparse input": """
assert round(net.score(X_te, y_te), 3) == 0.881 and round(clf.score(X_te, y_te), 3) == 0.879
assert np.abs(same.history_ / dense.history_ - 1).max() < 1e-12
""",
    # The callback example: the callback, not the epoch count or the stopping rule, ended it.
    "Progress, callbacks and plots": """
h = early.history_
assert early.n_epochs_ == len(h) == 70 < 500 and not early.converged_, early.n_epochs_
assert h[-1] < 0.1 <= h[-11], h[-11:]  # the first block boundary with a loss below 0.1
assert Path("loss.png").stat().st_size > 0
""",
}

#: Runs the block as ``__main__`` (so a ``__name__ == "__main__"`` guard works, also in Dask's
#: worker processes), then the check, then makes sure it was this checkout's fastnet.
DRIVER = """
import runpy, sys
from pathlib import Path
block, check, root = sys.argv[1:]
ns = runpy.run_path(block, run_name="__main__")
exec(check, {**ns, "Path": Path})
where = Path(sys.modules["fastnet"].__file__).resolve()
assert where.is_relative_to(Path(root)), f"imported {where}, not this checkout's fastnet"
"""


def needs(code: str) -> list[str]:
    imported = {
        alias.name.split(".")[0] if isinstance(node, ast.Import) else node.module.split(".")[0]
        for node in ast.walk(ast.parse(code))
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
        for alias in node.names
    }
    used = {module for marker, module in USES.items() if marker in code}
    return [m for m in OPTIONAL if m in imported | used]


def test_the_readme_has_its_examples():
    """(So the test below cannot pass by finding no block.)"""
    headings = [h for h, _ in BLOCKS]
    assert headings == [
        "Usage",
        "Adding a loss",
        "Sparse input",
        "scikit-learn",
        "Progress, callbacks and plots",
        "Saving and loading",
        "Scaling out",
        "Kernel variants (the measurements that decided them)",
    ]
    assert set(CHECKS) <= set(headings)
    assert needs(dict(BLOCKS)["Scaling out"]) == ["dask", "distributed"]
    assert needs(dict(BLOCKS)["Progress, callbacks and plots"]) == ["matplotlib", "tqdm"]


@pytest.mark.parametrize(("heading", "code"), BLOCKS, ids=[h for h, _ in BLOCKS])
def test_readme_block_runs_on_its_own(heading, code, tmp_path):
    for module in needs(code):
        pytest.importorskip(module, reason=f"the README's {heading!r} example needs {module}")
    script = tmp_path / "example.py"
    script.write_text(code)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(script), CHECKS.get(heading, ""), str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{heading}:\n{run.stdout}\n{run.stderr}"


def test_install_lines_name_this_checkouts_extras():
    """Every ``pip install`` in the README installs this checkout (``-e .`` or
    ``-e ".[extra,...]"``) with extras that pyproject.toml defines."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    lines = re.findall(r"pip install ([^`\n]*)", README)
    assert len(lines) >= 4
    for line in lines:
        match = re.match(r'-e (?:\.|"\.\[([\w,-]+)\]")(?:\s|$)', line)
        assert match, f"pip install {line}: not an install of this checkout (-e .)"
        for extra in filter(None, (match.group(1) or "").split(",")):
            assert extra in extras, f"pip install {line}: pyproject.toml has no extra {extra!r}"
    assert "fastnet-numba[" not in README  # works only once fastnet is installed
