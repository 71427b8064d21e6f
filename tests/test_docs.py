"""References into ``docs/`` resolve: every ``docs/...`` path named in the README, the code, the
benchmarks and the tests exists, every "docs/design.md section N" (or "§N") names a section
that ``docs/design.md`` has, and its workloads table is ``fastnet.data.WORKLOADS``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastnet.data import WORKLOADS

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SOURCES = sorted(
    [
        ROOT / "README.md",
        ROOT / "pyproject.toml",
        *ROOT.glob("docs/*.md"),
        *(p for d in ("fastnet", "bench", "tests") for p in (ROOT / d).rglob("*.py")),
    ]
)
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w.*/-]*[\w*]")
SECTION_REF = re.compile(r"design\.md`?(?:'s)?\s+(?:§\s*|section\s+)(\d+)")
OWN_SECTION_REF = re.compile(r"\bsections?\s+(\d+)((?:(?:,\s*|\s+and\s+)\d+)*)", re.I)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def design_sections() -> dict[str, str]:
    """``{number: title}`` of the numbered ``## N. Title`` headings of docs/design.md."""
    return dict(re.findall(r"^## (\d+)\. (.+)$", DESIGN.read_text(), re.M))


def test_the_design_is_in_the_repository():
    assert design_sections(), "docs/design.md has no numbered sections"
    absent = "DESIGN" + ".md"  # the design's old name, a file outside the repository
    for path in SOURCES:
        assert absent not in path.read_text(), f"{rel(path)} refers to {absent}: docs/design.md"


def test_the_scans_find_the_references():
    """(So the tests below cannot pass by finding nothing.)"""
    texts = "\n".join(p.read_text() for p in SOURCES)
    assert "docs/design.md" in DOCS_PATH.findall(texts)
    assert "docs/benchmark-2026-11-29.json" in DOCS_PATH.findall(texts)
    assert {"4", "5"} <= set(SECTION_REF.findall(texts))
    assert DOCS_PATH.findall("see docs/time-to-target-*.png, or docs/design.md.") == [
        "docs/time-to-target-*.png",
        "docs/design.md",
    ]
    assert SECTION_REF.findall("`docs/design.md` §4, docs/design.md section 5's") == ["4", "5"]


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_every_docs_path_exists(path):
    for ref in DOCS_PATH.findall(path.read_text()):
        if "*" in ref:
            assert list(ROOT.glob(ref)), f"{rel(path)}: nothing matches {ref}"
        else:
            assert (ROOT / ref).exists(), f"{rel(path)}: {ref} does not exist"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_every_design_section_reference_exists(path):
    sections = design_sections()
    for number in SECTION_REF.findall(path.read_text()):
        assert number in sections, f"{rel(path)} refers to docs/design.md section {number}"


def test_the_design_refers_to_its_own_sections():
    sections = design_sections()
    for first, more in OWN_SECTION_REF.findall(DESIGN.read_text()):
        for number in [first, *re.findall(r"\d+", more)]:
            assert number in sections, f"docs/design.md refers to its section {number}"


def test_the_workloads_table_is_fastnet_data():
    text = DESIGN.read_text()
    section = text.split("## 4. ", 1)[1].split("\n## ", 1)[0]
    header, rule, *rows = [ln for ln in section.splitlines() if ln.startswith("|")]
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "name", "n", "d", "hidden", "outputs", "epochs", "lr",
    ]  # fmt: skip
    table = {}
    for row in rows:
        name, n, d, hidden, outputs, epochs, lr = (c.strip() for c in row.strip("|").split("|"))
        table[name] = (
            int(n.replace(",", "")),
            int(d),
            tuple(int(h) for h in re.findall(r"\d+", hidden)),
            int(outputs),
            int(epochs.replace(",", "")),
            float(lr),
        )
    assert table == {
        w.name: (w.n, w.d, w.hidden, w.outputs, w.epochs, w.lr) for w in WORKLOADS.values()
    }
