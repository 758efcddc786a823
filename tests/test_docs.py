"""The documentation keeps up with the code (in the manner of datasette's docs tests).

Every file and heading the code, README.md or docs/*.md cite exists in this
repository; every ``ATC_*`` setting the code reads, every sub-command the CLI
registers and every validation rule is documented in README.md or docs/*.md.
A failure names what is missing; fix it by writing the doc or the reference.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.cli import build_parser
from copilot.rules import all_rules
from tests.paths import DOCS, ROOT

CODE_DIRS = ("copilot", "workflows", "app_pages", "bench", "scripts", "tests")
TOP_DIRS = ("docs", "copilot", "workflows", "app_pages", "tests", "bench", "scripts")
# A repo path: starts at a top-level directory, not inside a URL or another path.
PATH = re.compile(rf"(?<![\w/.\-])((?:{'|'.join(TOP_DIRS)})/[\w./\-<>]*[\w/>])")
# `docs/x.md, 'Heading'` (the heading may wrap onto a comment or docstring line).
NAMED = re.compile(r"\s*,\s*(?:#\s*)?['‘“]([^'’”]+?)['’”]")
ANCHOR = re.compile(r"#([\w\-]+)")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
SETTING = re.compile(r"\bATC_[A-Z0-9_]*[A-Z0-9]\b")
# Switches only the test-suite reads; documented in docs/testing.md.
TEST_SWITCHES = (
    "ATC_REQUIRE_",
    "ATC_RECORD_HISTORIES",
    "ATC_PYTEST_STATUS_FILE",
    "ATC_SCREENSHOT_DIR",
)


def _code_files() -> Iterator[Path]:
    yield ROOT / "app.py"
    for top in CODE_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            # This module cites made-up paths on purpose, to test the finder.
            if (
                "fixtures" not in path.relative_to(ROOT).parts
                and path != ROOT / "tests" / "test_docs.py"
            ):
                yield path


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in _doc_files())


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _headings(path: Path) -> tuple[set[str], set[str]]:
    """A markdown file's headings (as written, whitespace collapsed) and their anchors."""
    names: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (m := re.match(r"#{1,6}\s+(.*?)\s*#*$", line)):
            names.add(" ".join(m.group(1).split()))
    return names, {github_anchor(n) for n in names}


def _clean(heading: str) -> str:
    """A quoted heading as cited in code: comment markers and line wraps dropped."""
    return " ".join(re.sub(r"\n\s*#?", " ", heading).split())


def references() -> Iterator[tuple[str, str, str | None, str | None]]:
    """(where, target path, heading named in quotes, anchor) for every repo reference."""
    sources = [*_code_files(), *_doc_files()]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        where = str(source.relative_to(ROOT))
        for m in PATH.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            tail = text[m.end() :]
            named = NAMED.match(tail) if m.group(1).endswith(".md") else None
            anchor = ANCHOR.match(tail)
            yield (
                f"{where}:{line}",
                m.group(1),
                _clean(named.group(1)) if named else None,
                anchor.group(1) if anchor else None,
            )
        if source.suffix == ".md":
            yield from _relative_links(source, text, where)


def _relative_links(
    source: Path, text: str, where: str
) -> Iterator[tuple[str, str, None, str | None]]:
    """Markdown links relative to the file they sit in (`[x](throttling.md#y)`, `[x](#y)`)."""
    for m in MD_LINK.finditer(text):
        target = m.group(1)
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (source.parent / path).resolve() if path else source
        yield (
            f"{where}:{text.count(chr(10), 0, m.start()) + 1}",
            os.path.relpath(resolved, ROOT),
            None,
            anchor or None,
        )


def _problem(target: str, heading: str | None, anchor: str | None) -> str | None:
    path = ROOT / target
    if target.startswith(".."):
        return f"{target} is outside the repository; cite a public source or a file in docs/"
    # Globs and placeholders name many files; bench/out/ is what the benchmarks write (ignored by git).
    if "*" in target or "<" in target or target.startswith("bench/out/"):
        return None
    if not path.exists():
        return f"{target} does not exist"
    if (heading or anchor) and path.suffix == ".md":
        names, anchors = _headings(path)
        if heading and heading not in names:
            return f"{target} has no heading {heading!r}"
        if anchor and anchor not in anchors:
            return f"{target} has no heading with anchor #{anchor}"
    return None


def test_the_reference_finder_reads_the_shapes_the_code_uses() -> None:
    text = "see docs/apigee.md, 'Throttling\n    # policies', and [x](docs/logs.md#field-mapping)."
    found = [(m.group(1), m.end()) for m in PATH.finditer(text)]
    assert [f for f, _ in found] == ["docs/apigee.md", "docs/logs.md"]
    named = NAMED.match(text[found[0][1] :])
    assert named and _clean(named.group(1)) == "Throttling policies"
    assert ANCHOR.match(text[found[1][1] :]).group(1) == "field-mapping"  # type: ignore[union-attr]
    assert PATH.search("https://cloud.google.com/apigee/docs/api-platform/x") is None


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Who enforces an API product", "who-enforces-an-api-product"),
        ("Fan-out analysis: `atc analyze --temporal`", "fan-out-analysis-atc-analyze---temporal"),
        (
            "The front door: from Apigee to Temporal (`atc bridge`)",
            "the-front-door-from-apigee-to-temporal-atc-bridge",
        ),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_a_missing_file_or_heading_is_reported() -> None:
    assert _problem("docs/nope.md", None, None) == "docs/nope.md does not exist"
    assert "no heading" in (_problem("docs/apigee.md", "No such heading", None) or "")
    assert "no heading" in (_problem("docs/apigee.md", None, "no-such-anchor") or "")
    assert _problem("docs/apigee.md", "Throttling policies", "throttling-policies") is None


def test_nothing_cites_files_outside_the_repository() -> None:
    notes = "/".join(("..", "shared"))  # spelt in parts so this file does not cite it itself
    assert "outside the repository" in (_problem(f"{notes}/notes.md", None, None) or "")
    outside = re.compile(re.escape(notes) + r"\b|\]\(\.\./\.\./")
    found = [
        str(p.relative_to(ROOT))
        for p in [*_code_files(), *_doc_files()]
        if outside.search(p.read_text(encoding="utf-8"))
    ]
    assert not found, f"these files cite material outside the repository: {found}"


def test_every_cited_file_and_heading_exists() -> None:
    refs = list(references())
    assert len(refs) > 50  # the finder sees the code's citations at all
    broken = sorted({f"{where}: {msg}" for where, t, h, a in refs if (msg := _problem(t, h, a))})
    assert not broken, "broken references:\n" + "\n".join(broken)


def _settings_in_code() -> set[str]:
    found: set[str] = set()
    for top in ("copilot", "workflows", "app_pages"):
        for path in (ROOT / top).rglob("*.py"):
            found |= set(SETTING.findall(path.read_text(encoding="utf-8")))
    found |= set(SETTING.findall((ROOT / "app.py").read_text(encoding="utf-8")))
    return found


def test_every_setting_the_code_reads_is_documented() -> None:
    settings = _settings_in_code()
    assert "ATC_TEMPORAL_ADDRESS" in settings
    docs = _docs_text()
    missing = sorted(s for s in settings if not re.search(rf"\b{s}\b", docs))
    assert not missing, f"ATC_* settings not in README.md or docs/*.md: {missing}"


def test_every_test_switch_is_documented_in_testing_md() -> None:
    testing = (DOCS / "testing.md").read_text(encoding="utf-8")
    switches: set[str] = set()
    for path in [*(ROOT / "tests").rglob("*.py"), ROOT / ".ci" / "run", ROOT / "Makefile"]:
        if "fixtures" not in path.parts:
            switches |= {
                s
                for s in SETTING.findall(path.read_text(encoding="utf-8"))
                if s.startswith(TEST_SWITCHES)
            }
    assert "ATC_REQUIRE_APIGEELINT" in switches
    missing = sorted(s for s in switches if s not in testing)
    assert not missing, f"test switches not in docs/testing.md: {missing}"


def _commands(parser: argparse.ArgumentParser, prefix: str = "atc") -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}"
                yield from _commands(sub, f"{prefix} {name}")


def test_every_sub_command_is_documented() -> None:
    commands = list(_commands(build_parser()))
    assert "atc drafts approve" in commands
    docs = _docs_text()
    missing = [
        c for c in commands if not re.search(re.escape(c).replace(r"\ ", r"\s+") + r"\b", docs)
    ]
    assert not missing, f"sub-commands not mentioned in README.md or docs/*.md: {missing}"


def test_every_rule_is_documented_in_rules_md() -> None:
    rules_md = (DOCS / "rules.md").read_text(encoding="utf-8")
    names, _ = _headings(DOCS / "rules.md")
    missing = [r.id for r in all_rules() if not any(n.startswith(f"{r.id} ") for n in names)]
    assert not missing, f"rules without a heading in docs/rules.md: {missing}"
    flat = " ".join(rules_md.split())
    wrong = [r.id for r in all_rules() if " ".join(r.summary.split()) not in flat]
    assert not wrong, f"docs/rules.md does not state these rules' summary: {wrong}"
