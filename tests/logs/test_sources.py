"""Opening logs: a damaged line (undecodable bytes) costs that line, never the file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from copilot.errors import LogFormatError
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import iter_chunks
from copilot.logs.sources import Utf8Repaired
from tests.paths import LOGS

CSV = LOGS / "analytics_export.csv"


def _read(stream: bytes, block: int) -> bytes:
    class Trickle(io.RawIOBase):  # hands over ``block`` bytes at a time, cutting characters
        def __init__(self) -> None:
            self.data = stream

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
            n = min(len(buffer), block, len(self.data))
            buffer[:n], self.data = self.data[:n], self.data[n:]
            return n

    return io.BufferedReader(Utf8Repaired(Trickle()), 7).read()


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("café, naïve, 東京, 🚀\n".encode(), "café, naïve, 東京, 🚀\n"),  # valid: unchanged
        (b"ok\xffok\n", "ok\ufffdok\n"),
        (b"a\xc3", "a\ufffd"),  # cut at the very end
        (b"\xe6\x9d\xb1\xe4\xba", "東\ufffd"),
    ],
)
def test_undecodable_bytes_read_as_replacement_characters_whatever_the_blocks(
    raw: bytes, expected: str, block: int
) -> None:
    assert _read(raw, block).decode("utf-8") == expected


def _damaged(tmp_path: Path, line: int, bad: bytes) -> Path:
    lines = CSV.read_bytes().split(b"\n")
    lines[line] = bad
    path = tmp_path / "damaged.csv"
    path.write_bytes(b"\n".join(lines))
    return path


@pytest.mark.parametrize("line", [1, -2])  # the first record and the last
def test_a_csv_line_with_undecodable_bytes_is_quarantined_not_fatal(
    tmp_path: Path, line: int
) -> None:
    before = Quarantine()
    list(iter_chunks([CSV], before))
    replaced = CSV.read_bytes().split(b"\n")[line]
    path = _damaged(tmp_path, line, b"\xff\xfe,not a record\xc3")
    quarantine = Quarantine()
    rows = sum(len(c) for c in iter_chunks([path], quarantine))
    assert quarantine.lines_read == before.lines_read and rows == quarantine.records
    assert quarantine.kinds["wrong_field_count"] == before.kinds["wrong_field_count"] + 1
    assert replaced.count(b",") > 5  # the line damaged was a record, now one more rejection
    assert quarantine.rejected == before.rejected + 1


def test_a_binary_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "random.csv"
    path.write_bytes(bytes(range(128, 256)) * 200)
    with pytest.raises(LogFormatError, match="not UTF-8"):
        list(iter_chunks([path], Quarantine()))


def test_a_damaged_line_past_the_sniffed_head_is_quarantined(tmp_path: Path) -> None:
    header, record = CSV.read_bytes().split(b"\n")[:2]
    lines = [header] + [record] * 1_000
    lines[900] = b"\xff\xfe,not a record\xc3"  # beyond the first 64 KiB the sniffer reads
    assert len(b"\n".join(lines[:900])) > 64 * 1024
    path = tmp_path / "long.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    quarantine = Quarantine()
    rows = sum(len(c) for c in iter_chunks([path], quarantine))
    assert (rows, quarantine.rejected, quarantine.lines_read) == (999, 1, 1_000)
