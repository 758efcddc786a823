"""A window path opens as one byte range of its file, with an optional prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.fanout.window import WindowPath
from copilot.logs.sources import iter_line_blocks, open_binary, peek


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"head\n" + b"".join(b"line %d\n" % k for k in range(1, 2001)))
    return path


@pytest.mark.parametrize(("start", "end", "prefix"), [(5, 17, b""), (5, 17, b"head\n"),
                                                      (0, 0, b""), (100, 10_000, b"")])  # fmt: skip
def test_it_reads_exactly_the_window(log: Path, start: int, end: int, prefix: bytes) -> None:
    body = log.read_bytes()
    path = WindowPath(log).window(start, end, prefix)
    with path.open("rb") as fh:
        assert fh.read() == prefix + body[start:end]
    assert str(path) == str(log)  # quarantine samples name the real file


def test_the_readers_helpers_see_the_window(log: Path) -> None:
    body = log.read_bytes()
    start = body.index(b"line 100\n")
    end = body.index(b"line 200\n")
    path = WindowPath(log).window(start, end, b"head\n")
    assert peek(path).splitlines()[:2] == ["head", "line 100"]
    with open_binary(path) as fh:
        assert fh.read() == b"head\n" + body[start:end]
    blocks = [row for block in iter_line_blocks(path, 7) for row in block]
    assert [n for n, _, _ in blocks] == list(range(1, 102))
    assert blocks[-1][1] == "line 199\n"


def test_without_a_window_it_is_a_plain_path(log: Path) -> None:
    with WindowPath(log).open("rb") as fh:
        assert fh.read() == log.read_bytes()
