"""The import queue: big files are read and written one at a time per server process.

Reading a spreadsheet costs memory in proportion to its rows; two big uploads at once would hold
both. An import of a file at least ``import_queue_mb`` big waits for its turn (first come, first
served) and is told, while it waits, how many files are ahead of it; small files (a commune's
monthly report) never wait. When a big import ends, its memory is handed back to the system
(:func:`release_memory`), so the server returns near where it was before.

No Streamlit here: the import page passes a callback that shows the clerk their place.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Waiting = Callable[[int], None]
"""Told the number of files ahead (being imported or queued before this one) while waiting."""


class ImportQueue:
    """First come, first served turns for big imports; ``slots`` of them run at once."""

    def __init__(self, slots: int = 1) -> None:
        self.slots = slots
        self._cond = threading.Condition()
        self._queued: list[object] = []
        self._running = 0

    def ahead(self, ticket: object) -> int:
        """Files ahead of ``ticket``: those running and those queued before it."""
        with self._cond:
            return self._running + self._queued.index(ticket)

    @contextmanager
    def turn(self, big: bool, on_wait: Waiting | None = None, poll_s: float = 1.0) -> Iterator[None]:
        """Wait for this import's turn when ``big`` (telling ``on_wait`` the files ahead, at first
        and whenever it changes), run the block, then let the next one go and release memory."""
        if not big:
            yield
            return
        ticket = object()
        with self._cond:
            self._queued.append(ticket)
        told: int | None = None
        try:
            while True:
                with self._cond:
                    ahead = self._running + self._queued.index(ticket)
                    if self._running < self.slots and self._queued[0] is ticket:
                        self._queued.pop(0)
                        self._running += 1
                        break
                    if ahead == told:
                        self._cond.wait(timeout=poll_s)
                        continue
                if on_wait is not None:            # outside the lock: the callback may draw a page
                    on_wait(ahead)
                told = ahead
        except BaseException:
            with self._cond:
                if ticket in self._queued:
                    self._queued.remove(ticket)
                self._cond.notify_all()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
            release_memory()


QUEUE = ImportQueue()
"""The server's one queue of big imports."""


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc's ``malloc_trim``;
    elsewhere only the collection): without it the process keeps the peak of a big import."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):   # not glibc
        pass
