"""Work done once per data version (issue 15): the version counter and the shared cache it keys."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from xkld_geo.access import auth
from xkld_geo.database import cache, dataversion, db
from xkld_geo.figures import references
from xkld_geo.intake import ingest
from xkld_geo.settings import Settings
from xkld_geo.views import overview, period_tables

TODAY = dt.date(2026, 3, 15)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_build_bumps_and_a_bump_counts_only_when_its_write_commits(tiny_con) -> None:
    start = dataversion.current(tiny_con)
    assert start >= 1                               # the build bumped it
    with db.transaction(tiny_con):
        dataversion.bump(tiny_con, "test")
    assert dataversion.current(tiny_con) == start + 1
    with pytest.raises(RuntimeError):
        with db.transaction(tiny_con):
            dataversion.bump(tiny_con, "rolled back")
            raise RuntimeError("the write failed")
    assert dataversion.current(tiny_con) == start + 1


def test_an_overview_is_built_once_per_data_version_and_shared(tiny_con) -> None:
    request = overview.Request(2026, 2)
    first = overview.build_overview(tiny_con, request, "/app/static", TODAY)
    again = overview.build_overview(tiny_con, request, "/app/static", TODAY)
    assert again is first                          # served, not recomputed
    with db.transaction(tiny_con):
        dataversion.bump(tiny_con, "reference edit")
    assert overview.build_overview(tiny_con, request, "/app/static", TODAY) is not first


def test_the_cache_serves_the_new_figure_right_after_an_import(history_con, history_db: Settings) -> None:
    request = overview.Request(2026, 2, "99")
    before = overview.build_overview(history_con, request, "/app/static", TODAY)
    version = dataversion.current(history_con)
    data = "Tháng,Mã xã,Thị trường,Giới tính,Hình thức,Số người\n02/2026,99004,TW,nữ,dn,37\n".encode()
    report = ingest.import_file(history_con, data, "them.csv", "departures", "can_bo", history_db)
    assert report.accepted == 1
    assert dataversion.current(history_con) == version + 1
    after = overview.build_overview(history_con, request, "/app/static", TODAY)
    fresh = cache.Scope(history_con, enabled=False).get("x", overview._build_overview, request, "/app/static",
                                                         TODAY, 5)
    # the import replaces commune 99004's February: the figure changes, and the cache has the new one
    assert after.headline.ytd == fresh.headline.ytd != before.headline.ytd
    row = after.ranking.set_index("Mã").loc["99004"]
    assert row["Đã xuất cảnh (lũy kế)"] == fresh.ranking.set_index("Mã").loc["99004", "Đã xuất cảnh (lũy kế)"]


@pytest.mark.parametrize("kind", ["notices", "markets"])
def test_a_reference_edit_bumps_the_version(tiny_con, kind: str) -> None:
    version = dataversion.current(tiny_con)
    rows = (pd.DataFrame({"key": ["hotline"], "text": ["1900 0000"]}) if kind == "notices"
            else references.read(tiny_con, "markets"))
    references.save(tiny_con, kind, rows, auth.User("qt", "qt", "admin"))
    assert dataversion.current(tiny_con) == version + 1


def test_cache_off_computes_every_time(tiny_con, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XKLD_CACHE", "off")
    request = overview.Request(2026, 2)
    first = overview.build_overview(tiny_con, request, "/app/static", TODAY)
    assert overview.build_overview(tiny_con, request, "/app/static", TODAY) is not first
    assert cache.stats()["entries"] == 0


def test_shared_frames_are_handed_out_as_copies(tiny_con) -> None:
    from xkld_geo.figures import queries

    scope = cache.scope(tiny_con)
    one = scope.get("provinces", queries.provinces)
    one.loc[:, "name"] = "changed"
    assert "changed" not in set(scope.get("provinces", queries.provinces)["name"])


def test_overviews_only_read_the_national_tables_they_share(tiny_con) -> None:
    """The national tables a request cuts its part from are handed out without a copy: building
    the country's and each province's overview leaves them as the query returned them."""
    from xkld_geo.figures import queries

    shared = cache.scope(tiny_con)
    for province in (None, "98", "99"):
        overview.build_overview(tiny_con, overview.Request(2025, 12, province), "/app/static")
    for name, compute, args in (("period_attainment", queries.period_attainment, (2025, 12, "commune")),
                                ("monthly_by_province", queries.monthly_departures_by_province, (2025,))):
        pd.testing.assert_frame_equal(shared.get(name, compute, *args, copy=False), compute(tiny_con, *args))


def test_warmed_periods_need_no_query_when_an_overview_asks(tiny_con, monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up warm-up computes the national tables of every offered period: an overview of
    any of them (country or province) then only cuts its part out."""
    from tests.conftest import TODAY
    from xkld_geo.figures import queries

    assert period_tables.warm_periods(tiny_con, TODAY, 5) > 0

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("queried although warmed")

    for name in ("period_attainment", "monthly_departures_by_province"):
        monkeypatch.setattr(queries, name, refused)
    for province in (None, "99"):
        view = overview.build_overview(tiny_con, overview.Request(2025, 11, province), "/app/static", TODAY, 5)
        assert view.headline.ytd >= 0


def test_a_database_without_the_version_table_is_served_uncached(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path)
    con.execute("DROP TABLE data_version")
    con.close()
    ro = db.open_connection(tiny_db.db_path, read_only=True)
    try:
        request = overview.Request(2026, 2)
        first = overview.build_overview(ro, request, "/app/static", TODAY)
        assert overview.build_overview(ro, request, "/app/static", TODAY) is not first
        assert first.headline.ytd > 0
    finally:
        ro.close()


def test_one_version_check_per_page_run_and_again_after_a_write(tiny_con, monkeypatch: pytest.MonkeyPatch) -> None:
    run = [object()]
    monkeypatch.setattr(cache, "_run_marker", lambda: run[0])
    checks: list[int] = []
    real_stamp = cache.stamp
    monkeypatch.setattr(cache, "stamp", lambda con: checks.append(1) or real_stamp(con))
    first = cache.scope(tiny_con)
    assert cache.scope(tiny_con) is first and len(checks) == 1     # the same run: checked once
    with db.transaction(tiny_con):
        dataversion.bump(tiny_con, "test")
    after_write = cache.scope(tiny_con)
    assert after_write is not first and after_write.version == first.version + 1   # a write of its own: again
    run[0] = object()                                               # the next page run checks again
    assert cache.scope(tiny_con) is not after_write and len(checks) == 3
    monkeypatch.setattr(cache, "_run_marker", lambda: None)         # outside a page run: every time
    assert cache.scope(tiny_con) is not cache.scope(tiny_con)


def test_sessions_missing_the_same_result_at_once_compute_it_once(tiny_con) -> None:
    import threading
    import time

    calls: list[int] = []

    def slow(con, n: int) -> int:
        calls.append(n)
        time.sleep(0.3)
        return n * 2

    results: list[int] = []
    cursors = [tiny_con.cursor() for _ in range(6)]
    threads = [threading.Thread(target=lambda c=c: results.append(cache.Scope(c, enabled=True).get("slow", slow, 21)))
               for c in cursors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 6 and calls == [21]


def test_what_the_ui_attaches_to_a_shared_view_lives_exactly_as_long_as_the_view() -> None:
    """A map's component arguments stay while the cache keeps its spec, however many other maps are
    drawn in between (a count of recent maps dropped them and they were rendered again), and go
    with it: an object made later at the same address never gets them."""
    import gc

    from xkld_geo.ui.attachments import Attachments

    class View:
        pass

    kept: Attachments[str] = Attachments(limit=10_000)
    first = View()
    kept.put(first, "map", "arguments of the first view")
    others = [View() for _ in range(500)]
    for i, other in enumerate(others):
        kept.put(other, "map", f"arguments {i}")
    assert kept.get(first, "map") == "arguments of the first view"    # 500 other maps later: still there
    assert kept.get(first, "table") is None and len(kept) == 501
    del others, other
    gc.collect()
    assert len(kept) == 1                                              # the views went, their maps with them
    del first
    gc.collect()
    assert len(kept) == 0
    again = View()
    assert kept.get(again, "map") is None


def test_row_reads_the_first_row_without_a_frame(tiny_con) -> None:
    assert db.row(tiny_con, "t_row", "SELECT $a AS a, 'x' AS b", {"a": 3}) == (3, "x")
    assert db.row(tiny_con, "t_row_none", "SELECT 1 AS a WHERE false") is None
    assert db.value(tiny_con, "t_value", "SELECT 42 AS v") == 42
    assert db.value(tiny_con, "t_value_none", "SELECT 1 AS a WHERE false") is None


def test_a_newer_data_version_is_told_once_and_warmed_again_in_the_background(tiny_con, monkeypatch) -> None:
    """After an import the served app warms the new version's shared tables in its warm-up thread
    (not each first request): the cache tells its listeners of each newer version, once, and the
    warm-up thread runs one more round per burst of writes."""
    import threading

    from xkld_geo.maps import warmup

    cache.clear()
    told: list[int] = []
    monkeypatch.setattr(cache, "_listeners", [lambda path, version: told.append(version)])
    first = cache.Scope(tiny_con, enabled=True)
    assert told == []                                       # the first version seen is not news
    with db.transaction(tiny_con):
        dataversion.bump(tiny_con, "test")
    cache.Scope(tiny_con, enabled=True)
    cache.Scope(tiny_con, enabled=True)
    assert told == [first.version + 1]                      # told once, however many runs see it

    rounds: list[int] = []
    gate = threading.Event()

    def run(settings: object, then: object) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            gate.wait(5)          # round 1 is still warming while two more writes come

    def wait_for(count: int) -> None:
        for _ in range(250):
            if len(rounds) >= count:
                return
            threading.Event().wait(0.02)

    monkeypatch.setattr(warmup, "_run", run)
    monkeypatch.setattr(warmup, "_again", threading.Event())
    worker = threading.Thread(target=warmup._keep_warm, args=(None, None, 4), daemon=True)
    worker.start()
    wait_for(1)
    assert rounds == [0]                                    # the start-up round, then it waits
    warmup._again.set()
    wait_for(2)
    warmup._again.set()
    warmup._again.set()                                     # two writes during round 1 ...
    gate.set()
    wait_for(3)
    threading.Event().wait(0.2)
    assert rounds == [0, 1, 2] and worker.is_alive()        # ... warmed once more, then it waits
    warmup._again.set()
    worker.join(timeout=5)
    assert rounds == [0, 1, 2, 3] and not worker.is_alive()


def test_the_start_up_warm_up_builds_the_meetings_first_page_first(tiny_db: Settings, tiny_con, tmp_path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``XKLD_WARMUP=priority``: the overview of the default period (and the public page) before any
    province's map; ``geometry-first`` (the order before): every layer first. A page run during the
    forecasts' backtest shows the overview without the forecast, saying so, instead of waiting."""
    import dataclasses

    from xkld_geo.foresight import forecast
    from xkld_geo.maps import warmup

    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(tmp_path / "geo"))
    computed: list[str] = []
    real_get = cache.Scope.get

    def get(self: cache.Scope, name: str, compute, *args, copy: bool = True):  # type: ignore[no-untyped-def]
        if not self.has(name, *args):
            computed.append(name if name != "shapes" else f"shapes {args[2]}")
        return real_get(self, name, compute, *args, copy=copy)

    monkeypatch.setattr(cache.Scope, "get", get)
    orders = {}
    for order in ("geometry-first", "priority"):
        cache.clear()
        computed.clear()
        warmup._run(dataclasses.replace(tiny_db, warmup=order, cache=True),   # as serve.py starts it
                    lambda con: period_tables.warm_periods(con, tiny_db.effective_today, tiny_db.report_due_day))
        orders[order] = list(computed)
    old, new = orders["geometry-first"], orders["priority"]
    assert old.index("shapes fine") < old.index("period_attainment") and "overview" not in old
    assert new.index("overview") < new.index("period_attainment")   # asked for by the overview, not before it
    assert new.index("overview") < new.index("public") < new.index("shapes fine")
    assert new.index("forecast_skill") < new.index("shapes fine")

    # a page run while the warm-up computes the backtest: the overview without it, at once
    cache.clear()
    latest = warmup.first_pages(tiny_con, tiny_db)   # with the forecast: nothing deferred
    assert latest is not None and forecast.ready(tiny_con)
    cache.clear()
    monkeypatch.setattr(forecast, "forecast", lambda *a: pytest.fail("waited for the forecast"))
    with cache.deferring("forecast_skill"):
        assert not forecast.ready(tiny_con)
        view = overview.build_overview(tiny_con, overview.Request(*latest), "", tiny_db.effective_today,
                                       tiny_db.report_due_day)
    assert overview.FORECAST_PENDING in view.headline.projection_note
    assert view.headline.projected_low is None
    assert not cache.deferred("forecast_skill") and forecast.ready(tiny_con)
