"""Tables of shared views, converted for ``st.dataframe`` once per view instead of once per rerun.

A view built by :mod:`xkld_geo.cache` is one object shared by every session of the same data
version and request. ``st.dataframe`` turns a DataFrame into Arrow on every call, which costs a few
milliseconds per table and rerun, for a result that depends only on the view. :func:`arrow` keeps
the Arrow table per (view, name) while the view is alive (a weak reference: a view dropped by the
cache drops its tables too), so a cached rerun hands Streamlit a ready table.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable

import pandas as pd
import pyarrow as pa

MAX_TABLES = 512
_tables: OrderedDict[tuple[int, str], tuple[weakref.ref, pa.Table | pd.DataFrame]] = OrderedDict()
_lock = threading.Lock()
_stats = {"built": 0, "reused": 0}


def arrow(owner: object, name: str, make: Callable[[], pd.DataFrame]) -> pa.Table | pd.DataFrame:
    """The table ``make()`` of the shared view ``owner`` as Arrow, made once per (owner, name).

    A frame Arrow cannot type (mixed object columns) is kept as the DataFrame, which Streamlit's
    own conversion copes with."""
    key = (id(owner), name)
    with _lock:
        found = _tables.get(key)
        if found is not None and found[0]() is owner:
            _tables.move_to_end(key)
            _stats["reused"] += 1
            return found[1]
    frame = make()
    try:
        table: pa.Table | pd.DataFrame = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = frame
    with _lock:
        _stats["built"] += 1
        _tables[key] = (weakref.ref(owner), table)
        while len(_tables) > MAX_TABLES:
            _tables.popitem(last=False)
    return table


def stats() -> dict[str, Any]:
    """Tables built and reused so far (tests, benches)."""
    with _lock:
        return dict(_stats) | {"kept": len(_tables)}
