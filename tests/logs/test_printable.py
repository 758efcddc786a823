"""Log text made safe to print: control characters become visible escapes, in Python and Arrow."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from copilot.logs.printable import printable
from copilot.logs.sample import generate_day, make_scenario
from copilot.logs.writers import write_records
from copilot.logs.writers_text import printable_text

ESCAPED = [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("line\rover", "line\\rover"),
    ("one\ntwo", "one\\ntwo"),
    ("nul\x00", "nul\\x00"),
    ("tab\there", "tab\\there"),
    ("del\x7f", "del\\x7f"),
    ("c1\x9b31m", "c1\\x9b31m"),
    ("\u202egnp.exe", "\\u202egnp.exe"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("para\u2029graph", "para\\u2029graph"),
    ("no\u00a0break", "no\\xa0break"),
    ("lone\ud800", "lone\\ud800"),
]
KEPT = ["orders", "storefront web", "caf\u00e9", "\u6ce8\u6587", "emoji \U0001f600", "C:\\x"]


@pytest.mark.parametrize(("raw", "shown"), ESCAPED)
def test_control_and_invisible_characters_are_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(raw).isprintable()


@pytest.mark.parametrize("text", KEPT)
def test_printable_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


def test_the_arrow_kernel_escapes_the_same_values() -> None:
    # Arrow strings are UTF-8, which cannot hold a lone surrogate
    values = [raw for raw, _ in ESCAPED if "\ud800" not in raw] + KEPT + [None]
    escaped = printable_text(pa.array(values, pa.string())).to_pylist()
    assert escaped == [None if v is None else printable(v) for v in values]
    clean = pa.array(KEPT, pa.string())
    assert printable_text(clean) is clean  # the common case does no Python work


def test_syslog_lines_cannot_be_forged_by_a_log_field(tmp_path: Path) -> None:
    records = generate_day(make_scenario(days=1, seed=5, rows=400), 0).slice(0, 3)
    hostile = ["orders\n<14>1 2026-01-01T00:00:00.000+0000 forged", "\x1b[2Jcatalog", "ok\r"]
    column = records.schema.get_field_index("apiproxy")
    records = records.set_column(column, "apiproxy", pa.array(hostile, pa.string()))
    path = tmp_path / "out.log"
    write_records(records, path, "syslog", template="{apiproxy.name}|{request.verb}")
    lines = path.read_bytes().decode("utf-8").split("\n")[:-1]
    assert len(lines) == 3
    assert [line.split(" - - - ", 1)[1].split("|")[0] for line in lines] == [
        printable(h) for h in hostile
    ]
    assert all(line.isprintable() for line in lines)
    assert not pc.any(pc.match_substring(pa.array(lines), "\x1b")).as_py()
