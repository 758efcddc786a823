"""Partials: deterministic bytes, named by content, refused when altered or foreign, streamed."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from copilot.analysis import sparse
from copilot.errors import InputError
from copilot.fanout import merge_files, partial, plan_paths, run_partition
from copilot.fanout.partial import read_partial
from tests.fanout.estates import canonical, rewrite_partial


@pytest.fixture(scope="module")
def log(one_day_jsonl: Path) -> Path:
    return one_day_jsonl


def test_reading_a_partition_twice_writes_the_same_file(log: Path, tmp_path: Path) -> None:
    part = plan_paths([log], 3)[1]
    first = run_partition(part, tmp_path / "a").partial
    again = run_partition(part, tmp_path / "b").partial
    assert first.sha256 == again.sha256 and Path(first.path).name == Path(again.path).name
    assert Path(first.path).name.startswith(part.id)
    assert hashlib.sha256(Path(first.path).read_bytes()).hexdigest() == first.sha256
    assert not list((tmp_path / "a").glob(".*.tmp"))  # written, then renamed
    loaded = read_partial(Path(first.path), first.sha256)
    assert loaded.meta["records"] == loaded.meta["quarantine"]["records"] > 0


def _bad_group(meta: dict, arrays: dict) -> None:
    arrays["proxy_seconds.keys"] = arrays["proxy_seconds.keys"] | 1000


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda m, a: m.update(version=99), "version 99"),
        (lambda m, a: m.update(format="other"), "wrong format"),
        (lambda m, a: m.update(records=m["records"] + 1), "records vs outcome totals"),
        (_bad_group, "proxy_seconds groups"),
        (lambda m, a: a.pop("endpoints.seconds.counts"), "endpoints.seconds missing"),
        (lambda m, a: a.update({"app_seconds.counts": a["app_seconds.counts"] * 0}), "values"),
    ],
)
def test_a_partial_that_does_not_add_up_is_refused(
    log: Path, tmp_path: Path, change, says: str
) -> None:
    done = run_partition(plan_paths([log], 2)[0], tmp_path)
    with pytest.raises(InputError, match=says):
        read_partial(rewrite_partial(Path(done.partial.path), change))


def test_a_changed_file_fails_its_checksum(log: Path, tmp_path: Path) -> None:
    done = run_partition(plan_paths([log], 2)[0], tmp_path)
    path = Path(done.partial.path)
    body = bytearray(path.read_bytes())
    body[-100] ^= 0xFF
    path.write_bytes(bytes(body))
    with pytest.raises(InputError, match="checksum mismatch"):
        read_partial(path, done.partial.sha256)


def test_pickled_objects_are_never_loaded(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        payload = io.BytesIO()
        np.save(payload, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        zf.writestr("meta.npy", payload.getvalue())
    path = tmp_path / "pickled.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match="not a valid atc partial"):
        read_partial(path)


def test_a_partition_whose_seconds_spill_writes_the_same_partial(
    log: Path, tmp_path: Path, monkeypatch
) -> None:
    part = plan_paths([log], 2)[0]
    in_memory = run_partition(part, tmp_path / "a").partial
    monkeypatch.setattr(sparse, "SPILL_CELLS", 40)
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path / "spill"))
    spilled = run_partition(part, tmp_path / "b").partial
    assert spilled.sha256 == in_memory.sha256  # the same bytes, written from runs on disk
    assert (tmp_path / "spill").is_dir() and not list((tmp_path / "spill").rglob("*"))


def test_partials_streamed_in_small_slices_merge_to_the_same_analysis(
    log: Path, tmp_path: Path, monkeypatch
) -> None:
    done = [run_partition(p, tmp_path / "parts") for p in plan_paths([log], 3)]
    expected = canonical(merge_files([d.partial for d in done], [str(log)]))
    monkeypatch.setattr(partial, "WINDOW", 7)  # every aggregate read in many slices
    monkeypatch.setattr(sparse, "SPILL_CELLS", 40)  # and the merged seconds spill
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path / "spill"))
    assert canonical(merge_files([d.partial for d in done], [str(log)])) == expected
    assert (tmp_path / "spill").is_dir() and not list((tmp_path / "spill").rglob("*"))
