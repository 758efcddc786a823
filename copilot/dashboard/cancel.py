"""Long work the page can cancel at any moment: a worker thread, a cancel flag, a watching caller.

The page's script thread must stay free to notice the user (Streamlit stops or
reruns a script only when the script calls Streamlit). So the work (reading
the logs, replaying limits, forecasting) runs in a worker thread, and the
caller watches it: :func:`run_cancellable` calls ``watch`` a few times a
second, and when ``watch`` raises (the user pressed Cancel or Stop, or changed
a control) it sets the work's :class:`Checkpoint` flag and returns at once,
whatever stage the work is in. The work sees the flag at its next checkpoint
(the callback passed into the copilot function: after every chunk read, and
between stages and proxies where the function offers that) and ends by raising
:class:`Cancelled`; its result is never used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
WATCH_EVERY_S = 0.25


class Cancelled(Exception):
    """The work was cancelled; ``stage`` is the last checkpoint it passed."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"cancelled at {stage or 'the start'}")
        self.stage = stage


@dataclass
class Checkpoint:
    """The callback the work calls between its steps: notes where it is, stops it when cancelled.

    Called with the records read so far (as a ``progress`` callback) or with a
    stage name; ``records`` and ``stage`` are read by the watching thread.
    """

    records: int = 0
    stage: str = "reading"
    flag: threading.Event = field(default_factory=threading.Event)

    def __call__(self, where: int | str) -> None:
        if isinstance(where, int):
            self.records = where
        else:
            self.stage = where
        if self.flag.is_set():
            raise Cancelled(self.stage)

    def cancel(self) -> None:
        """Ask the work to stop at its next checkpoint."""
        self.flag.set()

    @property
    def cancelled(self) -> bool:
        return self.flag.is_set()


def run_cancellable(
    work: Callable[[Checkpoint], T],
    watch: Callable[[Checkpoint], None],
    *,
    every_s: float = WATCH_EVERY_S,
) -> T:
    """``work(checkpoint)`` in a worker thread; ``watch(checkpoint)`` here until it is done.

    If ``watch`` raises, the work is cancelled (its flag set) and the exception
    goes on at once, without waiting for the work to reach a checkpoint. The
    work's own exception, or its result, is returned here otherwise.
    """
    checkpoint = Checkpoint()
    done: Future[T] = Future()
    finished = threading.Event()

    def run() -> None:
        try:
            done.set_result(work(checkpoint))
        except BaseException as exc:  # noqa: BLE001 - handed to the watching thread
            done.set_exception(exc)
        finally:
            finished.set()

    threading.Thread(target=run, name="atc-dashboard-work", daemon=True).start()
    try:
        while not finished.wait(every_s):
            watch(checkpoint)
    except BaseException:
        checkpoint.cancel()
        raise
    return done.result()
