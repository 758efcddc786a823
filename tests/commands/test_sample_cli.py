"""`atc sample`: the CLI contract (exit codes, one-line output, JSON shape, determinism)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.cli import run

pytestmark = pytest.mark.slow  # runs `atc` in subprocesses

SMALL = ("--days", "1", "--rows", "2000", "--seed", "3")


def test_json_output_carries_the_ground_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "traffic.csv"
    assert run(["sample", *SMALL, "--out", str(out), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is True and body["error"] is None
    assert body["path"] == str(out) and body["format"] == "analytics-csv"
    assert body["records"] == len(out.read_text().splitlines()) - 1
    truth = body["scenario"]
    assert {"incident", "backend", "abusive", "limits", "seed", "start", "days"} <= set(truth)
    assert truth["abusive"]["developer_app"] == "dealfinder-app"
    assert {lim["policy"] for lim in truth["limits"]} == {"SA-Global", "SA-PerApp", "Q-PerApp"}


def test_text_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sample", *SMALL, "--out", str(tmp_path / "t.csv.gz")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wrote ") and "dealfinder-app" in lines[0]


@pytest.mark.parametrize(
    "fmt",
    [
        "analytics-csv",
        "analytics-jsonl",
        "cloud-logging",
        "cloud-logging-array",
        "syslog",
        "parquet",
        "avro",
    ],
)
def test_every_format_is_written_and_deterministic(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.out", tmp_path / "b.out"
    for path in (first, second):
        assert (
            run(["sample", *SMALL, "--format", fmt, "--out", str(path), "--start", "2027-01-04"])
            == 0
        )
    assert first.stat().st_size > 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["--days", "0"],
        ["--days", "x"],
        ["--rows", "0"],
        ["--seed", "-3"],
        ["--start", "2026-13-01"],
        ["--format", "apache"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["sample", *args, "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("UsageError:")
    assert not (tmp_path / "x.csv").exists()


def test_bad_output_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sample", *SMALL, "--out", str(tmp_path / "no" / "x.csv"), "--json"]) == 2
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False and "does not exist" in body["error"]
    assert run(["sample", *SMALL, "--out", str(tmp_path)]) == 2
    assert run(["sample", *SMALL]) == 2  # --out is required


def test_console_entry_point_exit_codes(tmp_path: Path) -> None:
    def atc(*args: str) -> subprocess.CompletedProcess[str]:
        code = "from copilot.cli import main; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )

    ok = atc("sample", *SMALL, "--out", str(tmp_path / "x.syslog"), "--format", "syslog")
    assert ok.returncode == 0, ok.stderr
    bad = atc("sample", "--days", "-1", "--out", str(tmp_path / "y.csv"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize(("fmt", "magic"), [("parquet", b"PAR1"), ("avro", b"Obj\x01")])
def test_binary_samples_read_back_to_the_records_written(
    tmp_path: Path, fmt: str, magic: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from copilot.logs.reader import read_logs

    out = tmp_path / f"traffic.{fmt}"
    assert run(["sample", *SMALL, "--format", fmt, "--out", str(out), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["records"]
    assert out.read_bytes()[:4] == magic
    frame, q = read_logs([out])
    assert len(frame) == q.records == written and q.rejected == 0


def test_binary_formats_refuse_a_gz_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(["sample", *SMALL, "--format", "parquet", "--out", str(tmp_path / "t.parquet.gz")]) == 2
    )
    assert "compresses its own data" in capsys.readouterr().err
