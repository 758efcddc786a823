"""A JSON array (gcloud logging read --format=json) is read element by element, never whole."""

from __future__ import annotations

import io
import json

import pytest

from copilot.errors import LogFormatError
from copilot.logs.json_array import iter_elements


class CountingReader(io.BytesIO):
    """A file that counts the chunks read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


def _entries(n: int) -> list[dict]:
    return [
        {"insertId": f"id{i}", "timestamp": "2025-11-16T10:00:01.5Z",
         "jsonPayload": {"apiproxy.name": "orders", "note": "a \"quoted\" ] [ , text", "n": i}}
        for i in range(n)
    ]  # fmt: skip


def test_a_large_array_is_read_a_chunk_at_a_time() -> None:
    entries = _entries(20_000)
    data = json.dumps(entries, indent=2).encode()  # gcloud indents its JSON
    chunk = 16_384
    fh = CountingReader(data)
    reads_when = []
    got = []
    for text in iter_elements(fh, "x", chunk_bytes=chunk):
        got.append(json.loads(text))
        reads_when.append(fh.reads)
    assert got == entries
    total_chunks = -(-len(data) // chunk)
    assert total_chunks > 200  # the array is far bigger than one chunk
    assert reads_when[0] == 1  # the first entry comes after one chunk, not the whole file
    # by the middle entry, about half the file has been read: never all of it up front
    assert reads_when[len(entries) // 2] <= total_chunks // 2 + 2
    assert fh.reads <= total_chunks + 1


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "  [ ]  ",
        '\ufeff[{"a": 1}]',
        '[{"a": "é ü 漢"}, {"b": [1, 2, {"c": null}]}]',
        "[1234567, 2.5e10, true, null, \"s\"]",
        '[\n  {"x": "]"},\n  {"y": "\\"},"}\n]\n',
    ],
)
def test_elements_cut_anywhere_read_as_json_load_reads_them(text: str, chunk: int) -> None:
    got = [json.loads(t) for t in iter_elements(io.BytesIO(text.encode()), "x", chunk)]
    assert got == json.loads(text.lstrip("\ufeff"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}', "expected a JSON array"),
        ('[{"a": 1}, {"b": ', "not valid JSON"),
        ('[{"a": 1}', "ends before its closing"),
        ('[{"a": "unterminated}]', "not valid JSON"),
        ('[{"a": 1} {"b": 2}]', "not valid JSON"),
    ],
)
def test_a_file_that_is_not_one_json_array_is_refused(text: str, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        list(iter_elements(io.BytesIO(text.encode()), "x", 8))


def test_a_syntax_error_early_is_refused_without_reading_the_rest() -> None:
    data = b'[{"a": 1}, {"a" 2}, ' + json.dumps(_entries(5_000))[1:].encode()
    fh = CountingReader(data)
    with pytest.raises(LogFormatError, match="not valid JSON"):
        list(iter_elements(fh, "x", chunk_bytes=1024))
    assert fh.reads <= 2
