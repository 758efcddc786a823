"""Requests partials: deterministic bytes, named by content, checked when read, merged exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from copilot.errors import InputError
from copilot.fanout import plan_paths, run_partition
from copilot.fanout.requests import read_requests, spill_requests
from copilot.pipeline import read_pass
from copilot.spill import SpillDir
from copilot.throttling.collect import Collector, attr_spec, extra_columns
from copilot.throttling.run import collected_attrs
from copilot.throttling.spilled import InMemory
from tests.fanout.estates import rewrite_partial

ATTRS = collected_attrs()


@pytest.fixture(scope="module")
def log(one_day_jsonl: Path) -> Path:
    return one_day_jsonl


def test_a_partition_collects_the_same_file_twice(log: Path, tmp_path: Path) -> None:
    part = plan_paths([log], 3)[1]
    first = run_partition(part, tmp_path / "a", collect=ATTRS).requests
    again = run_partition(part, tmp_path / "b", collect=ATTRS).requests
    assert first is not None and again is not None
    assert first.sha256 == again.sha256 and Path(first.path).name == Path(again.path).name
    assert Path(first.path).name.startswith(f"{part.id}-requests-")
    assert hashlib.sha256(Path(first.path).read_bytes()).hexdigest() == first.sha256
    req, back = read_requests(Path(first.path), first.sha256)
    assert back == part and req.size > 0 and list(req.attrs) == list(attr_spec(ATTRS)[0])
    assert run_partition(part, tmp_path / "c").requests is None  # analyze does not collect


def _unsorted(meta: dict, arrays: dict) -> None:
    arrays["ts"] = arrays["ts"][::-1].copy()


def _foreign_party(meta: dict, arrays: dict) -> None:
    arrays["party"] = arrays["party"] + len(meta["parties"])


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda m, a: m.update(version=99), "version 99"),
        (lambda m, a: m.update(format="atc-fanout-partial"), "wrong format"),
        (lambda m, a: m.update(rows=m["rows"] + 1), "ts type or length"),
        (lambda m, a: a.update(status=a["status"].astype(np.int64)), "status type or length"),
        (lambda m, a: a.pop("outcome"), "columns"),
        (_foreign_party, "party ids"),
        (_unsorted, "not in time order"),
        (lambda m, a: m.update(parties=[["app"]] * len(m["parties"])), "parties"),
        (lambda m, a: m.update(version=1), "version 1, want 2"),  # before hashed attributes
        (lambda m, a: m.pop("hashed"), "hashed"),
        (lambda m, a: m.update(hashed=["ip"]), "hashed"),
        (lambda m, a: a.update({"attr.path": a["attr.path"].astype(np.int32)}), "attr.path type"),
        (lambda m, a: m.update(attrs=[[n, ["/x"]] for n, _ in m["attrs"]]), "hashed attr path"),
    ],
)
def test_an_altered_partial_is_refused(log: Path, tmp_path: Path, change, says: str) -> None:
    done = run_partition(plan_paths([log], 1)[0], tmp_path, collect=ATTRS)
    path = rewrite_partial(Path(done.requests.path), change)
    with pytest.raises(InputError, match=says):
        read_requests(path)


def test_a_changed_byte_fails_the_checksum(log: Path, tmp_path: Path) -> None:
    ref = run_partition(plan_paths([log], 1)[0], tmp_path, collect=ATTRS).requests
    body = bytearray(Path(ref.path).read_bytes())
    body[len(body) // 2] ^= 1
    Path(ref.path).write_bytes(bytes(body))
    with pytest.raises(InputError, match="checksum mismatch"):
        read_requests(Path(ref.path), ref.sha256)


@pytest.mark.parametrize("attrs", [ATTRS, ("verb", "path")], ids=["path hashed", "labelled"])
def test_partials_merged_by_proxy_are_the_requests_one_pass_collects(
    log: Path, tmp_path: Path, attrs: tuple[str, ...]
) -> None:
    parts = plan_paths([log], 4)
    assert len(parts) > 1
    done = [run_partition(p, tmp_path, collect=attrs) for p in parts]
    files = [d.requests for d in reversed(done)]  # any order: sorted by partition
    collector = Collector(attrs)
    extra = extra_columns(attrs)
    read_pass([log], consumers=[collector], extra_columns=extra)  # as suggest_paths reads
    whole = InMemory(collector.finish())
    with SpillDir() as spill:
        spilled = spill_requests(files, spill)
        assert spilled.proxies == whole.proxies and spilled.parties == whole.parties
        assert spilled.policies == whole.policies and spilled.fault_codes == whole.fault_codes
        assert spilled.span == whole.span and spilled.counts.tolist() == whole.counts.tolist()
        for p in range(len(whole.proxies)):
            got, want = spilled.load(p), whole.load(p)
            for name in ("ts", "proxy", "party", "outcome", "policy", "target_ms", "status"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
            for name, (ids, labels) in want.attrs.items():
                np.testing.assert_array_equal(got.attrs[name][0], ids)
                assert got.attrs[name][1] == labels
            assert got.attrs["path"][0].dtype == (np.int64 if attrs == ATTRS else np.int32)
            assert (got.attrs["path"][1] == []) == (attrs == ATTRS)


def test_partials_hashing_different_attributes_are_not_merged(log: Path, tmp_path: Path) -> None:
    first, second = plan_paths([log], 2)[:2]
    files = [run_partition(first, tmp_path, collect=ATTRS).requests,
             run_partition(second, tmp_path, collect=("verb", "path")).requests]  # fmt: skip
    with SpillDir() as spill, pytest.raises(InputError, match="different attributes"):
        spill_requests(files, spill)
