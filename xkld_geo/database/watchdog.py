"""One watchdog thread for every query deadline of the process (:func:`xkld_geo.database.db.run`).

A ``threading.Timer`` per query started and joined a thread for every statement, even the tiny
version check of each page run: one to two milliseconds of CPU on a busy two-core machine, more
than the query itself. Here a single daemon thread keeps the deadlines in a heap and calls the
interrupt of those that pass; arming and disarming a deadline is a heap push and a flag.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(order=True)
class Deadline:
    """A call due at ``due`` (``time.monotonic``) unless :meth:`cancel` comes first."""

    due: float
    seq: int
    action: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


_heap: list[Deadline] = []
_wake = threading.Condition()
_seq = itertools.count()
_thread: threading.Thread | None = None


def _watch() -> None:
    while True:
        with _wake:
            while _heap and _heap[0].cancelled:
                heapq.heappop(_heap)
            if not _heap:
                _wake.wait()
                continue
            wait = _heap[0].due - time.monotonic()
            if wait > 0:
                _wake.wait(wait)
                continue
            due = heapq.heappop(_heap)
        if not due.cancelled:
            try:
                due.action()
            except Exception:  # an interrupt of a closed connection: nothing left to stop
                pass


def arm(seconds: float, action: Callable[[], object]) -> Deadline:
    """Call ``action`` in ``seconds`` unless the returned deadline is cancelled before."""
    global _thread
    deadline = Deadline(time.monotonic() + seconds, next(_seq), action)
    with _wake:
        if _thread is None:
            _thread = threading.Thread(target=_watch, name="xkld-query-watchdog", daemon=True)
            _thread.start()
        heapq.heappush(_heap, deadline)
        if _heap[0] is deadline:
            _wake.notify()
    return deadline
