"""One computation per key at a time: the others that want it wait for its result.

When twenty leaders open the overview at the same moment on a cold cache (a restart, or the data
version just bumped by an import), each session missed the shared cache and built the same
overview, the same geometry file, at once: twenty times the work on two cores, and every one of
them waited for all of it. With :class:`Flights`, the first session computes and stores a result
while the others wait for it, then find it stored.

Waiting is bounded (:data:`WAIT_S`): a computation that takes longer lets the waiter compute on its
own, so a stuck computation never stalls other sessions for good. The results nest (an overview
needs the provinces) but never in a cycle, so two computations never wait on each other.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Hashable, Iterator

WAIT_S = 60.0


class Flights:
    """The keys being computed right now, each by one thread."""

    def __init__(self) -> None:
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, key: Hashable, wait_s: float = WAIT_S) -> Iterator[bool]:
        """Wait while another thread computes ``key``, then hold it for the body. The body looks
        for the stored result first (the other thread may just have stored it) and computes only
        if it is missing. Yields False when the wait timed out (the body runs without the turn)."""
        while True:
            with self._lock:
                running = self._running.get(key)
                if running is None:
                    mine = self._running[key] = threading.Event()
                    break
            if not running.wait(wait_s):
                yield False
                return
        try:
            yield True
        finally:
            with self._lock:
                del self._running[key]
            mine.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)
