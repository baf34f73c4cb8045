"""Tables of shared views, converted for ``st.dataframe`` once per view instead of once per rerun.

A view built by :mod:`xkld_geo.database.cache` is one object shared by every session of the same data
version and request. ``st.dataframe`` turns a DataFrame into Arrow on every call, which costs a few
milliseconds per table and rerun, for a result that depends only on the view. :func:`arrow` keeps
the Arrow table per (view, name) while the view is alive (:mod:`xkld_geo.ui.attachments`: a view dropped by
the cache drops its tables too), so a cached rerun hands Streamlit a ready table.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import pyarrow as pa

from xkld_geo.ui.attachments import Attachments

_tables: Attachments[pa.Table | pd.DataFrame] = Attachments()


def arrow(owner: object, name: str, make: Callable[[], pd.DataFrame]) -> pa.Table | pd.DataFrame:
    """The table ``make()`` of the shared view ``owner`` as Arrow, made once per (owner, name).

    A frame Arrow cannot type (mixed object columns) is kept as the DataFrame, which Streamlit's
    own conversion copes with."""
    found = _tables.get(owner, name)
    if found is not None:
        return found
    frame = make()
    try:
        table: pa.Table | pd.DataFrame = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = frame
    return _tables.put(owner, name, table)


def stats() -> dict[str, Any]:
    """Tables built and reused so far (tests, benches)."""
    return {"built": _tables.built, "reused": _tables.reused, "kept": len(_tables)}
