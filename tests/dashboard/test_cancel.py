"""Long dashboard work cancelled at any stage: the caller is free at once, the work stops."""

from __future__ import annotations

import threading

import pytest

from copilot.config import load_settings
from copilot.dashboard.cancel import Cancelled, Checkpoint, run_cancellable
from copilot.errors import LogFormatError
from copilot.throttling.run import suggest_paths


class UserLeft(Exception):
    """What Streamlit raises in the page when the user clicks Cancel or Stop (a stand-in)."""


def test_the_result_comes_back_when_nobody_cancels() -> None:
    seen: list[int] = []
    assert run_cancellable(lambda cp: (cp(10), cp("replay"), 42)[-1], seen.append) == 42


def test_the_works_own_error_reaches_the_caller() -> None:
    def work(_cp: Checkpoint) -> None:
        raise LogFormatError("not a log")

    with pytest.raises(LogFormatError, match="not a log"):
        run_cancellable(work, lambda _cp: None)


def test_a_stage_with_no_checkpoint_is_left_at_once_and_the_work_stops_at_its_next() -> None:
    # The work sits in a long stage that calls no checkpoint (a replay, a forecast);
    # the caller must not wait for it, and the work must stop where it next checks.
    in_stage, release = threading.Event(), threading.Event()
    ended: list[object] = []

    def work(cp: Checkpoint) -> str:
        try:
            cp("replaying limits")
            in_stage.set()
            release.wait(timeout=60)
            cp("forecasting")
            return "advice"
        except Cancelled as exc:
            ended.append(exc)
            raise
        finally:
            ended.append("ended")

    def watch(_cp: Checkpoint) -> None:
        if in_stage.is_set():
            raise UserLeft

    with pytest.raises(UserLeft):
        run_cancellable(work, watch, every_s=0.01)
    assert not release.is_set() and ended == []  # the caller left while the stage ran
    release.set()
    for _ in range(600):
        if "ended" in ended:
            break
        threading.Event().wait(0.1)
    (stopped, _end) = ended
    assert isinstance(stopped, Cancelled) and stopped.stage == "forecasting"


def test_the_advice_stops_reading_at_the_next_chunk_once_cancelled() -> None:
    # suggest_paths' progress callback is a checkpoint: with three files (one chunk each), a
    # cancel during the first file stops the pass at the second's checkpoint, before the third.
    sample = load_settings().sample_path
    one_file = suggest_paths([sample]).quarantine.records
    checkpoint = Checkpoint()

    def cancel_after_first(records: int) -> None:
        checkpoint(records)
        checkpoint.cancel()

    with pytest.raises(Cancelled) as stopped:
        suggest_paths([sample, sample, sample], progress=cancel_after_first)
    assert stopped.value.stage == "reading" and checkpoint.records == 2 * one_file


def test_the_advice_stops_between_proxies_once_cancelled() -> None:
    # suggest_paths' step callback is a checkpoint between the sizing stages and proxies.
    checkpoint, seen = Checkpoint(), []

    def cancel_at_the_second_proxy(stage: str) -> None:
        seen.append(stage)
        checkpoint(stage)
        if "proxy 2 of" in stage:
            checkpoint.cancel()

    with pytest.raises(Cancelled) as stopped:
        suggest_paths([load_settings().sample_path], step=cancel_at_the_second_proxy)
    assert "proxy 3 of" in stopped.value.stage and seen[-1] == stopped.value.stage
    assert seen[0] == "measuring demand, retries and abuse"
    # Knees and forecasts are checkpoints too, one per proxy (most of the advice's time).
    assert any(s.startswith("finding the knee of ") for s in seen)
    assert any(s.startswith("forecasting ") for s in seen)


def test_the_advice_stops_between_knees_once_cancelled() -> None:
    checkpoint, seen = Checkpoint(), []

    def cancel_at_the_first_knee(stage: str) -> None:
        seen.append(stage)
        checkpoint(stage)
        if stage.startswith("finding the knee of "):
            checkpoint.cancel()

    with pytest.raises(Cancelled) as stopped:
        suggest_paths([load_settings().sample_path], step=cancel_at_the_first_knee)
    assert stopped.value.stage.startswith("finding the knee of ") and len(seen) == 3
