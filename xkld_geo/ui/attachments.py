"""What the UI derives from a shared, read-only object, kept exactly as long as that object lives.

The shared cache (:mod:`xkld_geo.database.cache`) hands every session the same view and map spec objects
of a data version and request. What the UI makes of them (a map component's arguments, a table
converted to Arrow) depends only on the object, so it is made once and attached to it here, keyed
by (object, name). An attachment is dropped when its object is collected (a weak reference's
callback), so it lives as long as the cache keeps the object, no longer and no shorter: a fixed
count of recent attachments, as before, dropped the maps of views the cache still served to
other sessions, which were then rendered again (issue 15). ``limit`` only guards against owners
that never die.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class Attachments(Generic[V]):
    """Values attached to live objects, by (object, name); thread-safe."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple[int, Hashable], tuple[weakref.ref, V]] = OrderedDict()
        self._lock = threading.RLock()   # re-entrant: a collection may run a callback inside a locked section
        self.built = 0
        self.reused = 0

    def get(self, owner: object, name: Hashable) -> V | None:
        """The value attached to ``owner`` under ``name``, or None."""
        key = (id(owner), name)
        with self._lock:
            found = self._kept.get(key)
            if found is None or found[0]() is not owner:   # an id reused by a newer object
                return None
            self._kept.move_to_end(key)
            self.reused += 1
            return found[1]

    def put(self, owner: object, name: Hashable, value: V) -> V:
        """Attach ``value`` to ``owner`` under ``name`` until ``owner`` is collected; returns it."""
        key = (id(owner), name)

        def collected(ref: weakref.ref, key: tuple[int, Hashable] = key) -> None:
            with self._lock:
                found = self._kept.get(key)
                if found is not None and found[0] is ref:
                    del self._kept[key]

        with self._lock:
            self.built += 1
            self._kept[key] = (weakref.ref(owner, collected), value)
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)
