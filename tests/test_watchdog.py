"""Query deadlines (xkld_geo.database.watchdog): one thread for all of them, a runaway query still stopped."""
from __future__ import annotations

import dataclasses
import threading
import time

import duckdb
import pytest

from xkld_geo.database import db, watchdog
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import load_settings


def test_a_runaway_query_is_interrupted_with_a_clear_message() -> None:
    settings = dataclasses.replace(load_settings(secrets={}), query_timeout_s=0.3)
    con = duckdb.connect()
    started = time.monotonic()
    with pytest.raises(DatabaseError) as caught:
        db.run(con, "runaway", "SELECT count(*) FROM range(100000000000) a", settings=settings)
    assert time.monotonic() - started < 10 and "runaway" in caught.value.message


def test_many_queries_start_no_thread_each_and_a_cancelled_deadline_never_fires() -> None:
    con = duckdb.connect()
    db.run(con, "warm_up", "SELECT 1 AS x")
    threads = threading.active_count()
    for _ in range(50):
        db.run(con, "tiny", "SELECT 1 AS x")
    assert threading.active_count() == threads
    fired: list[int] = []
    watchdog.arm(0.05, lambda: fired.append(1)).cancel()
    watchdog.arm(0.05, lambda: fired.append(2))
    time.sleep(0.4)
    assert fired == [2]
