"""atc's bundle reader against real public Apigee bundles and what Apigee's docs say they do.

The corpus (tests/fixtures/real/bundles, sources in tests/fixtures/real/ATTRIBUTION.md) is
copied verbatim from Google's and Apigee's public repositories; EXPECTED.toml next to it
was written from the Apigee policy references, not from atc's output (its header gives the
conventions). A field where atc and the docs disagree is listed in KNOWN_GAPS with the
reason and checked by a strict xfail, so fixing the reader turns it into a failure to
remove, and the rest of that policy's fields are still compared.
"""

from __future__ import annotations

import json
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from copilot.throttling.bundle import (
    BundleInfo,
    CurrentPolicy,
    Estate,
    OtherPolicy,
    Unmodelled,
    read_estate,
)
from tests.paths import FIXTURES

CORPUS = FIXTURES / "real" / "bundles"
EXPECTED = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))
ROOTS = ("apiproxy", "sharedflowbundle")
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if any((p / r).is_dir() for r in ROOTS))
_FOLDER = re.compile(r"(?:^|[/!\\])([^/!\\]+)[/\\](?:apiproxy|sharedflowbundle)(?:[/\\]|$)")

# Fields compared for every limit, and those only a Quota has.
COMMON = ("bundle_kind", "kind", "enabled", "continue_on_error", "identifier", "identifier_kind",
          "message_weight", "message_weight_ref")  # fmt: skip
SPIKE = ("rate", "rate_ref", "use_effective_count")
QUOTA = ("allow", "allow_ref", "interval", "interval_ref", "time_unit", "time_unit_ref",
         "quota_type", "distributed", "synchronous", "quota_role", "shared_name")  # fmt: skip
# An element the XML leaves out reads as its documented default or None.
DEFAULTS = {"enabled": True, "continue_on_error": False, "use_effective_count": False,
            "distributed": False, "synchronous": False}  # fmt: skip

# (bundle folder, policy, field) -> why atc's reader and the docs disagree. Each is checked
# by test_known_gap (strict xfail): when the reader is fixed, delete the line.
# Field "*": the policy is not read at all; folder-level gaps use policy "".
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def _marked(values, key, ids=None) -> list:
    """pytest params, a strict xfail on those KNOWN_GAPS lists under ``key(value)``."""
    out = []
    for value in values:
        reason = KNOWN_GAPS.get(key(value))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(value, marks=marks, id=ids(value) if ids else None))
    return out


def _folder(text: str) -> str:
    match = _FOLDER.search(text)
    assert match, f"cannot tell which corpus bundle {text!r} comes from"
    return match.group(1)


def _policy_files(folder: str) -> dict[str, str]:
    """policy name -> file, for every policies/*.xml of a corpus bundle."""
    import xml.etree.ElementTree as ET

    out = {}
    for root in ROOTS:
        for file in sorted((CORPUS / folder / root / "policies").glob("*.xml")):
            name = ET.parse(file).getroot().get("name") or file.stem
            out[name] = file.name
    return out


@pytest.fixture(scope="module")
def estate() -> Estate:
    return read_estate(CORPUS)


def _bundle_folders(estate: Estate) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for b in estate.bundles:
        assert isinstance(b, BundleInfo)
        out.setdefault(b.name, []).append(_folder(b.source))
    return out


def _placements(estate: Estate) -> dict[tuple[str, str], list[str]]:
    """(folder, policy) -> where atc put it: policies / other / unmodelled."""
    by_name = _bundle_folders(estate)
    out: dict[tuple[str, str], list[str]] = {}
    for p in estate.policies:
        out.setdefault((_folder(p.source), p.name), []).append("policies")
    for u in estate.unmodelled:
        if u.policy is not None:  # None: a note on a condition or identifier, not a policy file
            out.setdefault((_folder(u.file), u.policy), []).append("unmodelled")
    for o in estate.other:
        assert isinstance(o, OtherPolicy)
        folders = [f for f in by_name.get(o.bundle, []) if o.policy in _policy_files(f)]
        assert len(folders) == 1, f"other policy {o.bundle}/{o.policy}: bundle folders {folders}"
        out.setdefault((folders[0], o.policy), []).append("other")
    return out


@pytest.mark.parametrize("folder", _marked(FOLDERS, lambda f: (f, "", "*"), str))
def test_every_policy_file_lands_exactly_once(estate: Estate, folder: str) -> None:
    placed = _placements(estate)
    problems = []
    for policy, file in _policy_files(folder).items():
        where = placed.get((folder, policy), [])
        if len(where) != 1:
            problems.append(f"{folder}/policies/{file} ({policy}): found in {where or 'nothing'}")
    assert not problems, "\n".join(problems) + "\nnotes: " + "; ".join(estate.notes)


def _entries() -> list[dict]:
    return EXPECTED["policy"]


def _find(estate: Estate, entry: dict) -> CurrentPolicy | Unmodelled:
    folder, name = entry["bundle"], entry["policy"]
    found = [p for p in estate.policies if p.name == name and _folder(p.source) == folder]
    if not found and entry.get("may_be_unmodelled"):
        found = [u for u in estate.unmodelled if u.policy == name and _folder(u.file) == folder]
    assert len(found) == 1, (
        f"{folder}/{name}: expected once among the limits read, found {len(found)}; "
        f"unmodelled: {[u.reason for u in estate.unmodelled if u.policy == name]}; "
        f"notes: {estate.notes}"
    )
    return found[0]


def _expected_value(entry: dict, field: str):
    return entry.get(field)


def _matches(entry: dict, field: str, got) -> bool:
    want = _expected_value(entry, field)
    if want == "*":
        return bool(got)
    if field not in entry and field in DEFAULTS:
        return got in (None, DEFAULTS[field])
    return got == want


def _fields(entry: dict) -> tuple[str, ...]:
    return COMMON + (SPIKE if entry["kind"] == "SpikeArrest" else QUOTA)


def _mismatch(entry: dict, field: str, got) -> str:
    return (
        f"{entry['bundle']}/{entry['policy']} field {field}: expected "
        f"{_expected_value(entry, field)!r}, got {got!r}\n  docs: {' '.join(entry['why'].split())}"
    )


def _norm(text: str) -> str:
    return " ".join(text.split())


def _attachment_problems(entry: dict, policy: CurrentPolicy) -> list[str]:
    want = entry.get("attachments", [])
    got = list(policy.attachments)
    if len(got) != len(want):
        return [f"{len(want)} attachment(s) expected, got {len(got)}: {got}"]
    problems, left = [], list(got)
    for w in want:
        fits = [
            a for a in left
            if all(part in a.where for part in w["where"])
            and all(_norm(c) in _norm(a.condition) for c in w.get("condition", []))
            and all(_norm(c) in _norm(a.condition) for c in w.get("route_condition", []))
            and (("via" not in w and not a.via) or ("via" in w and a.via and w["via"] in a.via))
        ]  # fmt: skip
        if not fits:
            problems.append(f"no attachment like {w} among {left}")
        else:
            left.remove(fits[0])
    return problems


def _gap_free(entry: dict, field: str) -> bool:
    return (entry["bundle"], entry["policy"], field) not in KNOWN_GAPS


@pytest.mark.parametrize(
    "entry",
    _marked(
        _entries(),
        lambda e: (e["bundle"], e["policy"], "*"),
        lambda e: f"{e['bundle']}/{e['policy']}",
    ),
)
def test_limit_reads_as_the_docs_say(estate: Estate, entry: dict) -> None:
    found = _find(estate, entry)
    if isinstance(found, Unmodelled):
        assert re.search(r"never runs|not attached", found.reason), (
            f"{entry['bundle']}/{entry['policy']} reported as unmodelled for another reason: "
            f"{found.reason}\n  docs: {entry['why']}"
        )
        return
    problems = [
        _mismatch(entry, f, getattr(found, f))
        for f in _fields(entry)
        if _gap_free(entry, f) and not _matches(entry, f, getattr(found, f))
    ]
    if (
        _gap_free(entry, "proxy")
        and found.proxy != entry["bundle_name"]
        and entry["bundle_kind"] == "proxy"
    ):
        problems.append(_mismatch({**entry, "proxy": entry["bundle_name"]}, "proxy", found.proxy))
    if _gap_free(entry, "attached") and bool(found.attached) != entry["attached"]:
        problems.append(_mismatch(entry, "attached", found.attached))
    if _gap_free(entry, "attachments"):
        problems += [
            f"{entry['bundle']}/{entry['policy']} attachments: {p}\n  docs: {_norm(entry['why'])}"
            for p in _attachment_problems(entry, found)
        ]
    assert not problems, "\n".join(problems)


def _gap_cases() -> list:
    entries = {(e["bundle"], e["policy"]): e for e in _entries()}
    return [
        pytest.param(
            entries[(b, p)],
            field,
            id=f"{b}/{p}:{field}",
            marks=pytest.mark.xfail(strict=True, reason=reason),
        )  # fmt: skip
        for (b, p, field), reason in KNOWN_GAPS.items()
        if p and field != "*"
    ]


@pytest.mark.parametrize(("entry", "field"), _gap_cases())
def test_known_gap(estate: Estate, entry: dict, field: str) -> None:
    found = _find(estate, entry)
    assert isinstance(found, CurrentPolicy)
    if field == "attachments":
        assert not _attachment_problems(entry, found)
    elif field == "attached":
        assert bool(found.attached) == entry["attached"]
    elif field == "proxy":
        assert found.proxy == entry["bundle_name"]
    else:
        assert _matches(entry, field, getattr(found, field)), _mismatch(
            entry, field, getattr(found, field)
        )


@pytest.mark.parametrize(
    "sf",
    _marked(
        EXPECTED["shared_flow"], lambda s: (s["bundle"], "", "reached_via"), lambda s: s["bundle"]
    ),
)
def test_shared_flow_is_reached_as_the_docs_say(estate: Estate, sf: dict) -> None:
    infos = [
        b for b in estate.bundles if b.kind == "sharedflow" and _folder(b.source) == sf["bundle"]
    ]
    assert len(infos) == 1, (
        f"shared flow {sf['bundle']} read {len(infos)} times; notes: {estate.notes}"
    )
    got = infos[0].attached_by
    for want in sf["reached_via"]:
        assert any(want["flow_callout"] in via for via in got), (
            f"{sf['bundle']}: expected to be reached by FlowCallout {want['flow_callout']}, "
            f"got {got}\n  docs: {_norm(sf['why'])}"
        )
    if not sf["reached_via"]:
        assert not got, f"{sf['bundle']}: nothing in the corpus calls it, got {got}"


def _comparable(estate: Estate, *prefixes: str) -> list[str]:
    """The estate as sorted JSON lines, with where the corpus was read from removed."""
    text = json.dumps(estate.to_dict(), sort_keys=True)
    for prefix in prefixes:
        text = text.replace(json.dumps(prefix)[1:-1], "")
    body = json.loads(text)
    return sorted(json.dumps(item, sort_keys=True) for key in sorted(body) for item in body[key])


def test_the_corpus_as_a_zip_reads_like_the_folder(estate: Estate, tmp_path: Path) -> None:
    archive = tmp_path / "estate.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted(CORPUS.rglob("*")):
            if file.is_file():
                out.write(file, file.relative_to(CORPUS).as_posix())
    from_zip = read_estate(archive)
    assert len(from_zip.policies) == len(estate.policies) > 0
    assert _comparable(from_zip, f"{archive}!") == _comparable(estate, f"{CORPUS}/")


def test_the_corpus_read_bundle_by_bundle_finds_the_same_limits(estate: Estate) -> None:
    one_by_one = read_estate([CORPUS / f for f in FOLDERS] + [CORPUS / "devrel-config-diff-env"])
    assert sorted((_folder(p.source), p.name) for p in one_by_one.policies) == sorted(
        (_folder(p.source), p.name) for p in estate.policies
    )


@pytest.mark.parametrize("folder", FOLDERS)
def test_reading_a_corpus_bundle_alone_never_raises(folder: str) -> None:
    alone = read_estate(CORPUS / folder)
    assert alone.bundles and all(isinstance(b, BundleInfo) for b in alone.bundles)
    names = set(_policy_files(folder))
    read = {p.name for p in alone.policies} | {o.policy for o in alone.other}
    read |= {u.policy for u in alone.unmodelled if u.policy}
    assert names <= read, f"{folder}: not read alone: {sorted(names - read)}"
