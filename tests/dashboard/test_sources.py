"""Sources: de-duplicated by content, uploads stored once and deleted when rejected."""

from __future__ import annotations

from pathlib import Path

from copilot.dashboard.cache import LruCache
from copilot.dashboard.sources import content_hash, dedupe, discard_upload, store_upload


def test_the_same_content_twice_is_kept_once_with_a_notice(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    a.write_text("same")
    b.write_text("same")
    c.write_text("other")
    files = [(str(p), p.name) for p in (a, b, c)]
    source = dedupe("disk", files, [content_hash(p) for p in (a, b, c)], None)
    assert source.names == ("a.log", "c.log")
    assert source.notices == ("b.log has the same content as a.log: it is analysed once.",)
    assert source.label == "a.log + c.log"


def test_uploads_are_content_addressed_and_discarded(tmp_path: Path) -> None:
    first = store_upload("x.log", b"data", tmp_path)
    again = store_upload("renamed.log", b"data", tmp_path)
    assert first == again and first.read_bytes() == b"data"
    assert first.parent.name == content_hash(first)
    outside = tmp_path / "keep.log"
    outside.write_text("mine")
    assert not discard_upload(outside, tmp_path) and outside.exists()
    assert discard_upload(first, tmp_path)
    assert not first.exists() and not first.parent.exists()


def test_the_cache_drops_the_least_recently_used() -> None:
    cache: LruCache[int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get_or_make("c", lambda: 9) == 3
