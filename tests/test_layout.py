"""The README's Layout section stays true to the tree.

Every entry it lists exists, and every top-level directory, every package of
``copilot/`` and ``workflows/`` and every module directly in ``copilot/`` is
listed, so a newcomer who reads the Layout finds each part where it says.
A failure names the entry; fix the README's Layout or the tree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

# `name/` or `name.py` at the start of an entry, possibly several separated by commas.
ENTRY = re.compile(r"^( *)((?:[\w.\-]+/?|[\w.\-]+\.py)(?:, [\w.\-]+/?)*)(?=\s{2,}|$)")
# Directories a newcomer never opens, or that git does not track.
NOT_LISTED = {".ci", ".streamlit", ".github"}


def _layout_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1].splitlines()[1:]


def layout_entries() -> set[str]:
    """The paths the Layout lists, relative to the root (``copilot/logs``, ``app.py``...)."""
    entries: set[str] = set()
    parent = ""
    for line in _layout_block():
        match = ENTRY.match(line)
        if match is None:
            continue
        indent, names = len(match.group(1)), match.group(2).split(", ")
        if indent not in (0, 2):  # a description's continuation line
            continue
        for name in names:
            if indent == 0:
                entries.add(name.rstrip("/"))
                parent = name.rstrip("/") if name.endswith("/") else parent
            else:
                entries.add(f"{parent}/{name.rstrip('/')}")
    return entries


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []


def expected_entries() -> set[str]:
    """What the Layout must name: top-level dirs, packages of copilot/ and workflows/."""
    tracked = _tracked() or [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    top = {p.split("/")[0] for p in tracked if "/" in p} - NOT_LISTED
    packages = {
        str(Path(p).parent)
        for p in tracked
        if p.endswith("/__init__.py") and p.count("/") == 2 and p.split("/")[0] in
        ("copilot", "workflows")
    }  # fmt: skip
    modules = {p for p in tracked if p.count("/") == 1 and p.startswith("copilot/")
               and p.endswith(".py") and not p.endswith("__init__.py")}  # fmt: skip
    return top | packages | modules


def test_the_layout_section_lists_entries() -> None:
    entries = layout_entries()
    assert {"copilot", "workflows", "copilot/logs", "tests"} <= entries


@pytest.mark.parametrize("entry", sorted(layout_entries()))
def test_every_listed_entry_exists(entry: str) -> None:
    assert (ROOT / entry).exists(), f"README Layout lists {entry}, which is not in the tree"


@pytest.mark.parametrize("entry", sorted(expected_entries()))
def test_every_part_of_the_tree_is_listed(entry: str) -> None:
    assert entry in layout_entries(), f"README Layout does not list {entry}; add a line for it"
