"""The public side: small counts hidden and not recoverable, no individual data, pages gated."""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.conftest import session_token
from xkld_geo import auth, db, maps, queries
from xkld_geo.settings import PROJECT_ROOT, Settings, load_settings
from xkld_geo.views import public

T = public.THRESHOLD


def feasible_values(labels: pd.Series, total: int, cell: object) -> set[int]:
    """Values of a hidden cell consistent with what is published (an attacker's view).

    A "< T" cell holds 1..T-1; a secondary cell holds 0 or ≥ T (else it would be "< T"); the
    hidden cells together hold the total minus the published cells.
    """
    hidden_total = total - sum(v for v in labels if not isinstance(v, str))
    primaries = [k for k, v in labels.items() if v == f"< {T}"]
    secondaries = [k for k, v in labels.items() if v == public.SECONDARY]
    options = set()
    own = range(1, T) if cell in primaries else [0] + list(range(T, hidden_total + 1))
    for value in own:
        rest = hidden_total - value
        n_p = len(primaries) - (cell in primaries)
        n_s = len(secondaries) - (cell in secondaries)
        lo, hi = n_p, n_p * (T - 1)
        ok = any(lo <= rest - s <= hi for s in ([0] + list(range(T, rest + 1)) if n_s else [0]))
        if ok:
            options.add(value)
    return options


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_no_small_count_is_shown_or_recoverable(counts: list[int]) -> None:
    values = pd.Series(counts, index=[f"c{i}" for i in range(len(counts))])
    labels = public.suppress(values)
    shown = [v for v in labels if not isinstance(v, str)]
    assert not any(1 <= v < T for v in shown)
    total = public.total_label(values, labels)
    assert not (isinstance(total, int) and 1 <= total < T)
    if isinstance(total, str):
        return  # the total is hidden too: nothing to subtract from
    for cell, label in labels.items():
        if label == f"< {T}":
            assert len(feasible_values(labels, int(values.sum()), cell)) >= 2, (counts, labels.tolist())


@pytest.mark.parametrize("counts,expected", [
    ([0, 3, 10, 50, 7, 1], [0, "< 5", 10, 50, "ẩn", "< 5"]),  # a hidden 0 would add nothing
    ([4, 4, 4, 20], ["< 5", "< 5", "< 5", "ẩn"]),
    ([100, 2, 300], ["ẩn", "< 5", 300]),
    ([12, 30, 0], [12, 30, 0]),
    ([4], ["< 5"]),
])
def test_suppression_table(counts: list[int], expected: list[object]) -> None:
    assert public.suppress(pd.Series(counts)).tolist() == expected


def _toy_cube(cells: dict[tuple[str, str], int]) -> public.Cube:
    """A province × market table with its row, column and grand totals, as the screen links them."""
    rows, cols = sorted({p for p, _ in cells}), sorted({m for _, m in cells})
    values = {("X", p, m): v for (p, m), v in cells.items()}
    values |= {("P", p): sum(cells[p, m] for m in cols) for p in rows}
    values |= {("M", m): sum(cells[p, m] for p in rows) for m in cols}
    values[("T",)] = sum(cells.values())
    equations = ((("T",), tuple(("P", p) for p in rows)), (("T",), tuple(("M", m) for m in cols)),
                 *((("P", p), tuple(("X", p, m) for m in cols)) for p in rows),
                 *((("M", m), tuple(("X", p, m) for p in rows)) for m in cols))
    return public.Cube(values, equations)


def test_suppression_holds_across_linked_tables() -> None:
    # the reviewer's case: a small China count in one province, none elsewhere in China's column
    cells = {("a", "CN"): 4, ("a", "JP"): 52, ("a", "SG"): 5, ("a", "KR"): 10,
             ("b", "CN"): 62, ("b", "JP"): 900, ("b", "SG"): 46, ("b", "KR"): 30,
             ("c", "CN"): 5, ("c", "JP"): 122, ("c", "SG"): 40, ("c", "KR"): 20}
    cube = _toy_cube(cells)
    sums = [(total, list(parts)) for total, parts in cube.equations]
    # each view suppressed on its own (the old way) leaves national China minus b and c = 4
    old = {k: v for k, v in cube.values.items()}
    for p in "abc":
        row = pd.Series({m: cells[p, m] for m in ("CN", "JP", "KR", "SG")})
        old |= {("X", p, m): v for m, v in public.suppress(row).items()}
    assert "('X', 'a', 'CN') = 4 by subtraction" in _leaks(old, sums)
    hidden = public.suppression_pattern(cube)
    assert hidden[("X", "a", "CN")] == "< 5"
    for total, parts in cube.equations:  # no row or column with exactly one hidden term
        assert sum(k in hidden for k in (total, *parts)) != 1, (total, parts)
    primary = {k for k, v in hidden.items() if v == "< 5"}
    assert not public.exposed(cube, set(hidden), primary)
    assert public.suppression_pattern(cube) == hidden  # deterministic
    shown = {k: hidden.get(k, v) for k, v in cube.values.items()}
    assert not _leaks(shown, sums) and not _one_valued(shown, sums)


def test_a_bridge_between_protected_blocks_is_found() -> None:
    # every row and column holds two hidden cells, yet the cell linking the two rectangles is the
    # difference of row sums: the audits (and the engine) must see combinations, not just rows
    cells = {(p, m): 20 for p in "abcd" for m in "wxyz"}
    hidden = {("X", p, m) for p in "ab" for m in "wx"} | {("X", p, m) for p in "cd" for m in "yz"}
    hidden.add(("X", "a", "y"))
    cube = _toy_cube(cells)
    shown = {k: public.SECONDARY if k in hidden else v for k, v in cube.values.items()}
    sums = [(total, list(parts)) for total, parts in cube.equations]
    leaks = _leaks(shown, sums)
    assert not [leak for leak in leaks if "subtraction" in leak]
    assert "('X', 'a', 'y') = 20 is a combination of the sums" in leaks
    assert public.exposed(cube, hidden, set()) == [("X", "a", "y")]


def _number(text: object) -> object:
    """A published cell back to a number where it is one ("1.234" → 1234)."""
    if isinstance(text, str) and re.fullmatch(r"\d{1,3}(\.\d{3})*", text):
        return int(text.replace(".", ""))
    return text


def _count_fields(summary: public.PublicSummary) -> list[object]:
    html = maps.page_html(summary.fmap)
    props = re.findall(r'"departures":\s*([^,}]+)', html)
    return ([summary.total] + [_number(v) for v in summary.table["Số người đã đi"]]
            + [_number(v) for v in summary.markets["Số người đã đi"]]
            + [None if p == "null" else float(p) for p in props])


PERSONAL = re.compile(r"\b(cccd|cmnd|citizen|ho_ten|họ tên|ngày sinh|so_dinh_danh|passport)\b", re.I)


def _scan(summary: public.PublicSummary) -> None:
    """One view: no count 1..T-1 anywhere (tables, total, map), no personal fields, and within its
    own table every "< T" cell keeps at least two values consistent with the published total."""
    province = summary.province
    for value in _count_fields(summary):
        assert not (isinstance(value, (int, float)) and 1 <= value < T), (province, value)
    for frame in (summary.table, summary.markets, summary.costs, summary.companies):
        assert not any(PERSONAL.search(str(c)) for c in frame.columns)
    assert not PERSONAL.search(maps.page_html(summary.fmap))
    labels = summary.table.set_index("Mã")["Số người đã đi"].map(_number)
    if isinstance(summary.total, str):
        return
    for cell, label in labels.items():
        if label == f"< {T}":
            assert len(feasible_values(labels, summary.total, cell)) >= 2, (province, cell)


Key = tuple
Sum = tuple[Key, list[Key]]


def _views(con, year: int, month: int) -> dict[str | None, public.PublicSummary]:
    """Every view of the public screen: the national one and each province's (``?unit=NN``)."""
    codes = [None] + list(queries.provinces(con)["code"])
    return {code: public.build_public(con, year, month, code, "/app/static") for code in codes}


def _published(views: dict[str | None, public.PublicSummary]) -> tuple[dict[Key, object], list[Sum]]:
    """What a reader collects from all the views, and the sums they know link it (an attacker's view).

    ("T",) the national total; ("P", p) a province (its national row = its own view's total);
    ("M", market) a national market total; ("X", p, market) a market in province p's view;
    ("C", code) a commune. Sums: provinces and markets add up to the national total; a province's
    markets and its communes add up to its total; a market over all province views adds up to
    its national total.
    """
    shown: dict[Key, object] = {}

    def put(key: Key, label: object) -> None:
        label = _number(label)
        assert shown.setdefault(key, label) == label, (key, shown[key], label)  # one figure, one label

    national = views[None]
    order = list(national.markets["Thị trường"])
    put(("T",), national.total)
    for code, label in zip(national.table["Mã"], national.table["Số người đã đi"]):
        put(("P", code), label)
    for market, label in zip(order, national.markets["Số người đã đi"]):
        put(("M", market), label)
    sums: list[Sum] = [(("T",), [("P", c) for c in national.table["Mã"]]),
                       (("T",), [("M", m) for m in order])]
    provinces = [code for code in views if code is not None]
    for code in provinces:
        view = views[code]
        # the same market order everywhere: an order by the province's own counts would place its
        # hidden cells between published ones
        assert list(view.markets["Thị trường"]) == order, code
        put(("P", code), view.total)
        for commune, label in zip(view.table["Mã"], view.table["Số người đã đi"]):
            put(("C", commune), label)
        for market, label in zip(order, view.markets["Số người đã đi"]):
            put(("X", code, market), label)
        sums += [(("P", code), [("X", code, m) for m in order]),
                 (("P", code), [("C", c) for c in view.table["Mã"]])]
    sums += [(("M", m), [("X", p, m) for p in provinces]) for m in order]
    return shown, sums


def _terms(shown: dict[Key, object], total: Key, parts: list[Key]) -> tuple[list[tuple[int, Key]], int]:
    """A sum as ``Σ sign·hidden = rest`` (parts +1, total −1) over its hidden figures."""
    terms = [(1, p) for p in parts if isinstance(shown[p], str)]
    terms += [(-1, total)] if isinstance(shown[total], str) else []
    rest = (0 if isinstance(shown[total], str) else shown[total])
    return terms, rest - sum(shown[p] for p in parts if not isinstance(shown[p], str))


def _leaks(shown: dict[Key, object], sums: list[Sum]) -> list[str]:
    """Hidden figures a reader can work out exactly from the published ones (empty: safe).

    1. subtraction: a sum with one hidden figure gives it away, within a table (row, column) or
       across views (national market total minus that market in every province view; a province's
       national total minus its communes, or its markets);
    2. any combination of the sums (the figure's unit vector lies in their row space);
    3. bounds: "< T" is 1..T-1 and "ẩn" 0 or ≥ T, propagated through the sums to a single value.
    """
    hidden = sorted(k for k, v in shown.items() if isinstance(v, str))
    rows = [r for r in (_terms(shown, total, parts) for total, parts in sums) if r[0]]
    leaks = [f"{r[0][0][1]} = {r[1] * r[0][0][0]} by subtraction" for r in rows if len(r[0]) == 1]
    if not hidden:
        return leaks
    index = {k: i for i, k in enumerate(hidden)}
    matrix = np.zeros((len(rows), len(hidden)))
    for row, (terms, _) in enumerate(rows):
        for sign, k in terms:
            matrix[row, index[k]] += sign
    _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((sing > 1e-9 * max(1.0, float(sing.max(initial=0)))).sum())
    rhs = np.array([rest for _, rest in rows], dtype=float)
    solved = np.linalg.lstsq(matrix, rhs, rcond=None)[0]   # exact on the determined coordinates
    leaks += [f"{hidden[i]} = {solved[i]:.0f} is a combination of the sums"
              for i in np.flatnonzero((vt[:rank] ** 2).sum(axis=0) > 1 - 1e-6) if abs(solved[i]) > 0.5]
    small = {k for k in hidden if shown[k] == f"< {T}"}
    lo = {k: 1.0 if k in small else 0.0 for k in hidden}
    hi = {k: T - 1.0 if k in small else math.inf for k in hidden}
    for _ in range(500):
        before = (dict(lo), dict(hi))
        for terms, rest in rows:
            for j, (sign, k) in enumerate(terms):
                others = [(s, o) for i, (s, o) in enumerate(terms) if i != j]
                most = sum(hi[o] if s > 0 else -lo[o] for s, o in others)
                least = sum(lo[o] if s > 0 else -hi[o] for s, o in others)
                low, high = (rest - most, rest - least) if sign > 0 else (least - rest, most - rest)
                lo[k], hi[k] = max(lo[k], low), min(hi[k], high)
                if k not in small:  # 0 or ≥ T
                    hi[k] = 0.0 if hi[k] < T else hi[k]
                    lo[k] = max(lo[k], float(T)) if lo[k] > 0 else lo[k]
        if (lo, hi) == before:
            break
    # a figure pinned to 0 names nobody (no person is behind it): only non-zero values are leaks
    return leaks + [f"{k} = {lo[k]:.0f} by bounds" for k in hidden if lo[k] >= hi[k] and lo[k] > 0]


def _one_valued(shown: dict[Key, object], sums: list[Sum]) -> list[Key]:
    """Exact check (integer programme): hidden figures with only one value consistent with all
    published figures, the sums, integrality, "< T" = 1..T-1 and "ẩn" = 0 or ≥ T."""
    optimize = pytest.importorskip("scipy.optimize")
    hidden = sorted(k for k, v in shown.items() if isinstance(v, str))
    rows = [r for r in (_terms(shown, total, parts) for total, parts in sums) if r[0]]
    parent = {k: k for k in hidden}

    def root(k: Key) -> Key:
        while parent[k] != k:
            k = parent[k]
        return k

    for terms, _ in rows:
        for _, k in terms[1:]:
            parent[root(k)] = root(terms[0][1])
    big = float(sum(v for v in shown.values() if not isinstance(v, str)) + 10 ** 6)
    found = []
    for group in {root(k) for k in hidden}:
        cells = [k for k in hidden if root(k) == group]
        secondary = [k for k in cells if shown[k] == public.SECONDARY]
        n, index = len(cells), {k: i for i, k in enumerate(cells)}
        width = n + len(secondary)  # one 0/1 switch per "ẩn": 0, or from T up
        a, lb, ub = [], [], []
        for terms, rest in rows:
            if root(terms[0][1]) == group:
                a.append(np.zeros(width)), lb.append(rest), ub.append(rest)
                for sign, k in terms:
                    a[-1][index[k]] += sign
        for j, k in enumerate(secondary):
            for low, factor in ((0.0, T), (-np.inf, big)):  # x − T·s ≥ 0 and x − big·s ≤ 0
                a.append(np.zeros(width)), lb.append(low), ub.append(0.0 if low < 0 else np.inf)
                a[-1][index[k]], a[-1][n + j] = 1.0, -factor
        low = [1.0 if shown[k] == f"< {T}" else 0.0 for k in cells] + [0.0] * len(secondary)
        high = [T - 1.0 if shown[k] == f"< {T}" else big for k in cells] + [1.0] * len(secondary)
        for k in cells:
            ends = []
            for direction in (1.0, -1.0):
                c = np.zeros(width)
                c[index[k]] = direction
                res = optimize.milp(c, integrality=np.ones(width),
                                    bounds=optimize.Bounds(low, high),
                                    constraints=optimize.LinearConstraint(np.array(a), lb, ub))
                assert res.success, (k, res.message)
                ends.append(round(res.x[index[k]]))
            if ends[0] == ends[1] != 0:   # pinned to 0: nobody is behind it
                found.append(k)
    return found


def test_public_outputs_of_the_fixture_database(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path, read_only=True)
    for month in (1, 3):
        views = _views(con, 2026, month)
        for summary in views.values():
            _scan(summary)
        shown, sums = _published(views)
        assert not _leaks(shown, sums)
        assert not _one_valued(shown, sums)
    con.close()


@pytest.fixture(scope="module")
def demo_views(real_con) -> dict[str | None, public.PublicSummary]:
    """Every view of the demo database's public screen for the latest month."""
    year = queries.years(real_con)[0]
    return _views(real_con, year, queries.last_data_month(real_con, year))


@pytest.mark.real_data
def test_public_outputs_of_the_demo_database(demo_views) -> None:
    for summary in demo_views.values():
        _scan(summary)


@pytest.mark.real_data
def test_no_hidden_figure_of_the_demo_database_can_be_worked_out(demo_views) -> None:
    shown, sums = _published(demo_views)
    assert any(v == f"< {T}" for k, v in shown.items() if k[0] == "X")  # there is something to protect
    leaks = _leaks(shown, sums)
    assert not leaks, leaks[:20]


@pytest.mark.real_data
def test_every_hidden_figure_of_the_demo_database_keeps_two_values(demo_views) -> None:
    shown, sums = _published(demo_views)
    assert not _one_valued(shown, sums)


def test_notices_are_validated(tiny_db: Settings) -> None:
    con = db.open_connection(tiny_db.db_path)
    public.set_notice(con, "hotline", "Gọi 1900 0000", "admin")
    assert public.notices(con)["hotline"] == "Gọi 1900 0000"
    for key, text in (("hotline", ""), ("hotline", "x" * 2001), ("../etc", "ok")):
        with pytest.raises(Exception) as err:
            public.set_notice(con, key, text, "admin")
        assert getattr(err.value, "message", "")
    con.close()


# --- pages and access -------------------------------------------------------------------------




def _page(path: str, role: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if role:
        at.session_state["auth_token"] = session_token(load_settings(), role)
    return at.run()


def test_anonymous_visitor_sees_the_public_screen(app_env: Settings) -> None:
    at = _page("pages/1_Cong_khai.py")
    assert not at.exception and not at.error
    assert "Kết quả đưa lao động" in at.title[0].value
    assert at.metric[0].label.startswith("Số người đã đi")
    assert at.selectbox(key="public_province").value == ""
    at.selectbox(key="public_province").set_value("99").run()
    assert len(at.dataframe[0].value) == 6  # the communes table of the map panel


def test_kiosk_mode_has_no_controls(app_env: Settings) -> None:
    at = _page("pages/1_Cong_khai.py", query={"mode": "kiosk", "unit": "99"})
    assert not at.exception
    assert len(at.selectbox) == 0 and len(at.button) == 0
    assert any("stSidebar" in m.value for m in at.markdown)


@pytest.mark.parametrize("query", [{"unit": "../../etc/passwd"}, {"unit": "1; DROP TABLE users"},
                                   {"unit": "9" * 3000}])
def test_public_screen_ignores_bad_parameters(app_env: Settings, query: dict[str, str]) -> None:
    at = _page("pages/1_Cong_khai.py", query=query)
    assert not at.exception and not at.error
    assert len([w for w in at.warning if "không hợp lệ" in w.value]) == 1
    assert at.selectbox(key="public_province").value == ""


@pytest.mark.parametrize("path", ["app.py", "pages/9_Quan_tri.py"])
def test_anonymous_visitor_is_refused_internal_pages(app_env: Settings, path: str) -> None:
    at = _page(path)
    assert not at.exception
    assert any("dành cho cán bộ" in w.value for w in at.warning)
    assert not at.dataframe and not at.metric
    assert at.text_input(key="login_user") is not None


def test_planner_cannot_open_user_administration(app_env: Settings) -> None:
    at = _page("pages/9_Quan_tri.py", role="planner")
    assert len(at.error) == 1 and "không có quyền" in at.error[0].value
    assert not at.dataframe


def test_admin_adds_a_user_and_it_is_audited(app_env: Settings) -> None:
    at = _page("pages/9_Quan_tri.py", role="admin")
    assert not at.exception and not at.error
    at.text_input(key="new_username").input("lanhdao2")
    at.text_input(key="new_password").input("mat-khau-lanh-dao")
    at.selectbox(key="new_role").set_value("viewer")
    at.button[0].click().run()
    assert not at.error
    con = db.connect(app_env)
    assert con.execute("SELECT role FROM users WHERE username = 'lanhdao2'").fetchone()[0] == "viewer"
    assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'user_added' "
                       "AND target = 'lanhdao2'").fetchone()[0] == 1


def test_expired_session_is_asked_to_log_in_again(app_env: Settings) -> None:
    token = session_token(load_settings(), "viewer", "hethan")
    con = db.connect(app_env)
    con.execute("UPDATE sessions SET expires_at = $t WHERE username = 'hethan'",
                {"t": dt.datetime(2000, 1, 1)})
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_token"] = token
    at.run()
    assert any("hết hạn" in i.value for i in at.info)
    assert any("dành cho cán bộ" in w.value for w in at.warning)


def test_login_form_logs_in(app_env: Settings) -> None:
    con = db.connect(app_env)
    auth.create_user(con, "lanhdao", "mat-khau-lanh-dao", "viewer")
    at = _page("app.py")
    at.text_input(key="login_user").input("lanhdao")
    at.text_input(key="login_password").input("mat-khau-lanh-dao")
    at.button[0].click().run()
    assert not at.exception and not at.warning
    assert at.metric and at.dataframe


@pytest.mark.parametrize("row,field", [
    ({"licence_no": "", "name": "A"}, "licence_no"), ({"licence_no": "1", "name": ""}, "name"),
    ({"licence_no": "1", "name": "A", "province_code": "4"}, "province_code"),
    ({"licence_no": "1", "name": "A", "markets": "JP, XX"}, "markets"),
    ({"licence_no": "1'; DROP TABLE users; --" * 3, "name": "A"}, "licence_no"),
])
def test_company_list_validation(row: dict, field: str) -> None:
    errors = public.check_companies(pd.DataFrame([row]))
    assert len(errors) == 1 and f"cột {field}" in errors[0]


def test_licensed_companies_show_on_the_public_screen(tiny_con) -> None:
    rows = pd.DataFrame([{"licence_no": "123/LĐTBXH-GP", "name": "Công ty Cổ phần Thử", "province_code": "99",
                          "markets": "JP,KR", "valid_until": "2028-12-31"}])
    assert public.save_companies(tiny_con, rows, "admin") == 1
    summary = public.build_public(tiny_con, 2026, 3, None, "/app/static")
    assert summary.companies["Doanh nghiệp"].tolist() == ["Công ty Cổ phần Thử"]
