"""Plain tables: aligned, and a log field can neither repaint the terminal nor forge a row."""

from __future__ import annotations

import pytest

from copilot.commands._output import table


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("row\nforged  row", "row\\nforged  row"),
        ("over\rwrite", "over\\rwrite"),
        ("nul\x00", "nul\\x00"),
        ("\u202etxt.exe", "\\u202etxt.exe"),
        ("plain caf\u00e9", "plain caf\u00e9"),
    ],
)
def test_cells_show_control_characters_as_escapes(cell: str, shown: str) -> None:
    text = table([[cell, 1]], ["name", "n"])
    lines = text.split("\n")
    assert len(lines) == 3 and lines[2].startswith(shown)
    assert all(line.isprintable() for line in lines)


def test_columns_stay_aligned_with_escaped_cells() -> None:
    text = table([["a\x1bb", 1_234], ["ok", 5]], ["name", "requests"])
    assert [len(line.rstrip()) for line in text.split("\n")][:2] == [len("a\\x1bb  requests")] * 2
    assert text.split("\n")[2].index("1,234") == text.split("\n")[3].index("5")
