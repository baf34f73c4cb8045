"""People in charge of labour export: per province and commune, who answers for the figures.

The vice-chairman of the People's Committee in charge, the members of the steering committee with
their roles, and the officer in charge with a phone number: the lists a province chases late
reports and lagging communes with. Internal only: nothing of this table reaches the public page or
the public files. Edited on the page by planners and administrators (every change in the audit
log), or imported from the XLSX template :data:`PEOPLE` (checked cell by cell, refused rows
in a rejection file, the units of a bad row left as they were, one transaction).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.access import auth, scope
from xkld_geo.database import dataversion, db, store
from xkld_geo.errors import IngestError, QueryError
from xkld_geo.figures import queries
from xkld_geo.intake import checks, gazetteer, ingest, kinds, registry, spreadsheets
from xkld_geo.intake.columns import Column, Kind, unit_columns
from xkld_geo.notifications import addresses
from xkld_geo.settings import Settings, current

EDIT_ACTION = "plan_quotas"
"""Who may edit (planners and administrators: the roles of the plan pages)."""
VIEW_ACTION = "overview"
ROLES: dict[str, str] = {"pho_chu_tich": "Phó Chủ tịch phụ trách", "ban_chi_dao": "Thành viên Ban Chỉ đạo",
                         "can_bo": "Cán bộ phụ trách"}
LEVELS: dict[str, str] = {"province": "Tỉnh", "commune": "Xã"}
PHONE = re.compile(r"^0\d{9}$")
COLUMNS = ["role", "full_name", "position", "phone"]
EDITED = COLUMNS + ["email"]
"""Columns of a unit's list as the page edits it (``email`` optional in the rows :func:`save_unit` takes)."""
DEMO_DOMAIN = "minhhoa.example"
"""Demo people's addresses: a reserved top-level domain (RFC 2606), so a demo pointed at a test SMTP
server shows the whole notification cycle and nothing reaches a real mailbox."""


SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Thanh", "Đức", "Ngọc", "Quang")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long", "Mai", "Nam",
         "Phong", "Quân", "Sơn", "Tâm", "Thảo", "Trung", "Tuấn", "Vân", "Yến")




PEOPLE = Kind("people", "Người phụ trách XKLĐ của tỉnh và xã (nội bộ)", "people_in_charge", "none",
              (Column("cap", "Cấp", "text", True, "Tỉnh hoặc Xã.", "Xã", ("cap don vi",)),
               *unit_columns(),
               Column("vai_tro", "Vai trò", "text", True,
                      "Phó Chủ tịch phụ trách / Thành viên Ban Chỉ đạo / Cán bộ phụ trách.", "Cán bộ phụ trách",
                      ("vai tro phu trach",)),
               Column("nguoi_phu_trach", "Họ và tên người phụ trách", "text", True, "Họ và tên đầy đủ.",
                      "Nguyễn Văn An", ("ho va ten nguoi phu trach", "nguoi phu trach")),
               Column("chuc_vu", "Chức vụ", "text", False,
                      "Chức vụ, hoặc nhiệm vụ trong Ban Chỉ đạo (Trưởng ban, Phó ban, Thành viên...).",
                      "Công chức Văn hóa - Xã hội", ("chuc danh", "nhiem vu")),
               Column("dien_thoai", "Điện thoại", "text", False, "Số điện thoại 10 chữ số (0xxxxxxxxx).",
                      "0912345678", ("so dien thoai", "sdt")),
               Column("thu_dien_tu", "Thư điện tử", "text", False,
                      "Địa chỉ nhận nhắc hạn, tổng hợp và báo cáo định kỳ (docs/notifications.md).",
                      "can-bo@xa.gov.vn", ("email", "dia chi thu dien tu", "e mail"))),
              "Một dòng mỗi người. Tệp thay toàn bộ danh sách người phụ trách của các tỉnh, xã có trong tệp. "
              "Chỉ dùng nội bộ, không công khai.")
"""People in charge: declared like the report kinds, imported from the people page by planners and
administrators (not a clerk's statistical report, so it is not in :data:`xkld_geo.intake.kinds.KINDS`: it is
registered as another kind, :func:`register_with_intake`)."""


def register_with_intake() -> None:
    """Declare the people template to the intake (:mod:`xkld_geo.registrations` calls this once)."""
    registry.add_other_kind(PEOPLE)


def _name(rng: np.random.Generator) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def demo_email(level: str, code: str, role: str, seq: int) -> str:
    """A demo person's address, e.g. ``can-bo1.x01001@minhhoa.example`` (x: commune, t: province)."""
    return f"{role.replace('_', '-')}{seq}.{'x' if level == 'commune' else 't'}{code}@{DEMO_DOMAIN}"


def generate_demo(communes: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Fictional people for every province and commune (flagged ``is_demo``; phones 0900xxxxxx,
    addresses on :data:`DEMO_DOMAIN`)."""
    rng = np.random.default_rng(seed + 31)
    rows: list[tuple] = []
    now = dt.datetime(2025, 7, 1, 8, 0)
    units = [("province", p) for p in sorted(set(communes["parent_code"]))] + \
            [("commune", c) for c in sorted(communes["code"])]
    for level, code in units:
        committee = ("Trưởng ban", "Phó Trưởng ban", "Thành viên") if level == "province" else ("Phó Trưởng ban",
                                                                                            "Thành viên")
        staff = [("pho_chu_tich", "Phó Chủ tịch UBND")] + [("ban_chi_dao", r) for r in committee] + \
                [("can_bo", "Chuyên viên Sở Nội vụ" if level == "province" else "Công chức Văn hóa - Xã hội")]
        seq: dict[str, int] = {}
        for role, position in staff:
            seq[role] = seq.get(role, 0) + 1
            phone = f"0900{rng.integers(0, 10**6):06d}" if role != "ban_chi_dao" else None
            rows.append((level, code, role, seq[role], f"{_name(rng)} (minh họa)", position, phone, now, "demo",
                         True, demo_email(level, code, role, seq[role])))
    return pd.DataFrame(rows, columns=["unit_level", "unit_code", "role", "seq", "full_name", "position", "phone",
                                       "updated_at", "updated_by", "is_demo", "email"])


def write_demo(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Put the demo people in for units that have nobody entered (entered people always win)."""
    db.execute(con, "people_clear_demo", "DELETE FROM people_in_charge WHERE is_demo")
    with db.registered(con, "people_in", rows):
        db.execute(con, "people_demo_insert", """
            INSERT INTO people_in_charge BY NAME SELECT * FROM people_in d
            WHERE NOT EXISTS (SELECT 1 FROM people_in_charge p
                              WHERE p.unit_level = d.unit_level AND p.unit_code = d.unit_code)""")


def listing(con: duckdb.DuckDBPyConnection, province: str | None = None, level: str | None = None) -> pd.DataFrame:
    """People of one province and its communes (or everyone), in order: unit, role, seq."""
    queries.check_code("tỉnh", province, 2)
    return db.run(con, "people_list", """
        SELECT p.unit_level, p.unit_code, COALESCE(c.commune_name, u.name) AS unit_name, p.role, p.seq,
               p.full_name, p.position, p.phone, p.email, p.updated_at, p.updated_by, p.is_demo
        FROM people_in_charge p
        LEFT JOIN v_communes c ON p.unit_level = 'commune' AND c.commune_code = p.unit_code
        LEFT JOIN admin_units u ON p.unit_level = 'province' AND u.era = '2025' AND u.level = 'province'
             AND u.code = p.unit_code
        WHERE ($province IS NULL OR (p.unit_level = 'province' AND p.unit_code = $province)
               OR c.province_code = $province) AND ($level IS NULL OR p.unit_level = $level)
        ORDER BY p.unit_level DESC, p.unit_code, p.role, p.seq""", {"province": province, "level": level})


def communes_of(con: duckdb.DuckDBPyConnection, province: str) -> pd.DataFrame:
    """Communes of a province: unit_code, unit_name (for choosing whose list to edit)."""
    queries.check_code("tỉnh", province, 2)
    return db.run(con, "people_communes", """
        SELECT commune_code AS unit_code, commune_name AS unit_name FROM v_communes
        WHERE province_code = $p ORDER BY commune_name COLLATE vi""", {"p": province})


def contacts(con: duckdb.DuckDBPyConnection, province: str | None = None) -> pd.DataFrame:
    """Per commune: its vice-chairman in charge and its officer with phone (one row per commune)."""
    people = listing(con, province, "commune")
    first = people.sort_values("seq").drop_duplicates(["unit_code", "role"])
    vice = first[first["role"] == "pho_chu_tich"].set_index("unit_code")["full_name"].rename("vice_chair")
    officer = first[first["role"] == "can_bo"].set_index("unit_code")[["full_name", "phone"]]
    return pd.concat([vice, officer.rename(columns={"full_name": "officer"})], axis=1).rename_axis("unit_code")


def check_rows(rows: pd.DataFrame) -> list[str]:
    """Problems of an edited unit's list, one Vietnamese sentence each (empty: good)."""
    problems = []
    for i, r in enumerate(rows.itertuples(index=False), start=1):
        if r.role not in ROLES:
            problems.append(f"Dòng {i}: vai trò '{r.role}' không có; chọn: {', '.join(ROLES.values())}.")
        if not str(r.full_name or "").strip():
            problems.append(f"Dòng {i}: thiếu họ và tên.")
        elif len(str(r.full_name)) > 120:
            problems.append(f"Dòng {i}: họ và tên dài quá 120 ký tự.")
        phone = re.sub(r"[\s.]", "", str(r.phone or ""))
        if phone and not PHONE.match(phone):
            problems.append(f"Dòng {i}: số điện thoại '{r.phone}' không hợp lệ (cần 10 chữ số, bắt đầu bằng 0).")
        value = getattr(r, "email", None)
        email = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
        if email and (problem := addresses.email_problem(email)):
            problems.append(f"Dòng {i}: {problem}.")
    return problems


def _normalised(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.reindex(columns=EDITED).copy().fillna("")
    out["email"] = out["email"].astype(str).str.strip().str.lower()
    out["phone"] = out["phone"].astype(str).str.replace(r"[\s.]", "", regex=True)
    out["full_name"] = out["full_name"].astype(str).str.strip()
    out["seq"] = out.groupby("role").cumcount() + 1
    return out


def _replace_unit(con: duckdb.DuckDBPyConnection, level: str, code: str, rows: pd.DataFrame, user: str,
                  now: dt.datetime) -> None:
    db.execute(con, "people_delete_unit", "DELETE FROM people_in_charge WHERE unit_level = $l AND unit_code = $c",
               {"l": level, "c": code})
    for r in rows.itertuples(index=False):
        db.execute(con, "people_insert", """
            INSERT INTO people_in_charge (unit_level, unit_code, role, seq, full_name, position, phone, updated_at,
                                          updated_by, is_demo, email)
            VALUES ($l, $c, $role, $seq, $name, $pos, $phone, $at, $u, FALSE, $email)""",
                   {"l": level, "c": code, "role": r.role, "seq": int(r.seq), "name": r.full_name,
                    "pos": r.position or None, "phone": r.phone or None, "at": now, "u": user,
                    "email": r.email or None})


def save_unit(con: duckdb.DuckDBPyConnection, user: auth.User, level: str, code: str, rows: pd.DataFrame) -> int:
    """Replace one unit's people with ``rows`` (role, full_name, position, phone); audited.

    Refused (nothing written) when the user may not edit or a row is bad. Returns the rows stored."""
    if not auth.allowed(user, EDIT_ACTION):
        raise QueryError(f"Tài khoản {user.username} không có quyền sửa danh sách người phụ trách.",
                         field="role", value=user.role, allowed=["planner", "admin"])
    queries.check_choice("cấp", level, LEVELS)
    queries.check_code("đơn vị", code, 2 if level == "province" else 5)
    scope.require_write(con, user, code, "sửa danh sách người phụ trách của đơn vị này")
    problems = check_rows(rows)
    if problems:
        raise QueryError(" ".join(problems), field="people", value=code, problems=problems)
    new = _normalised(rows)
    old = listing(con, None, level)
    old = old[old["unit_code"] == code]
    before = "; ".join(f"{ROLES.get(r, r)}: {n} {p or ''} {e or ''}".strip() for r, n, p, e in
                       zip(old["role"], old["full_name"], old["phone"], old["email"].where(old["email"].notna(), None)))
    after = "; ".join(f"{ROLES[r]}: {n} {p} {e}".strip() for r, n, p, e in
                      zip(new["role"], new["full_name"], new["phone"], new["email"]))
    now = dt.datetime.now()
    with db.transaction(con):
        _replace_unit(con, level, code, new, user.username, now)
        auth.audit(con, user.username, "people_edit", f"{level}:{code}", f"trước: {before} | sau: {after}", now=now)
        dataversion.bump(con, f"reference:people_in_charge:{level}:{code}")
    return len(new)


def _role_code(text: str) -> str | None:
    key = kinds.header_key(text)
    for code, label in ROLES.items():
        if key in (kinds.header_key(label), code.replace("_", " ")):
            return code
    return {"pho chu tich": "pho_chu_tich", "ban chi dao": "ban_chi_dao", "bcd": "ban_chi_dao",
            "can bo": "can_bo", "can bo phu trach": "can_bo"}.get(key)


def _errors(rows: pd.Index, field: str, reason: str | list[str], value: pd.Series | str = "") -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "field": field, "value": value, "reason": reason})


def import_people(con: duckdb.DuckDBPyConnection, data: bytes, file: str, user: auth.User,
                  settings: Settings) -> ingest.ImportReport:
    """Import the people template: each province or commune in the file gets exactly the file's list.

    A unit with a bad row is left as it was (all its rows refused with the reason), so a list is
    never half-replaced; the rest go in in one transaction, logged in ``import_log`` and audited."""
    if not auth.allowed(user, EDIT_ACTION):
        raise IngestError(f"Tài khoản {user.username} không có quyền nhập danh sách người phụ trách.",
                          file=file, field="role", value=user.role)
    k = PEOPLE
    digest = hashlib.sha256(data).hexdigest()
    try:
        sheet = spreadsheets.read(data, file, k, spreadsheets.Limits.from_settings(settings))
    except IngestError as exc:
        ingest.log_refused(con, k.key, file, digest, len(data), user.username, exc)
        raise
    frame = sheet.frame
    for col in ("ma_xa", "ten_xa", "tinh", "chuc_vu", "dien_thoai", "thu_dien_tu"):
        if col not in frame:
            frame[col] = ""
    checked = checks.check(frame, k, checks.Reference.from_db(con), settings.effective_today)
    errors = [checked.errors]
    level = frame["cap"].map(lambda v: {"tinh": "province", "thanh pho": "province", "xa": "commune",
                                        "phuong": "commune", "dac khu": "commune"}.get(kinds.header_key(v)))
    errors.append(_errors(frame.index[level.isna() & (frame["cap"] != "")], k.column("cap").header,
                          "cấp phải là Tỉnh hoặc Xã", frame["cap"][level.isna() & (frame["cap"] != "")]))
    role = frame["vai_tro"].map(_role_code)
    bad_role = role.isna() & (frame["vai_tro"] != "")
    errors.append(_errors(frame.index[bad_role], k.column("vai_tro").header,
                          f"vai trò không có; chọn: {', '.join(ROLES.values())}", frame["vai_tro"][bad_role]))
    phone = frame["dien_thoai"].str.replace(r"[\s.]", "", regex=True)
    bad_phone = (phone != "") & ~phone.str.match(PHONE.pattern)
    errors.append(_errors(frame.index[bad_phone], k.column("dien_thoai").header,
                          "số điện thoại cần 10 chữ số, bắt đầu bằng 0", frame["dien_thoai"][bad_phone]))
    email = frame["thu_dien_tu"].str.strip().str.lower()
    bad_email = (email != "") & email.map(lambda e: bool(e) and addresses.email_problem(e) is not None)
    errors.append(_errors(frame.index[bad_email], k.column("thu_dien_tu").header,
                          "địa chỉ thư điện tử không hợp lệ", frame["thu_dien_tu"][bad_email]))
    gaz = gazetteer.Gazetteer.from_db(con)
    code = pd.Series(None, index=frame.index, dtype=object)
    communes = level == "commune"
    if communes.any():
        matched = gaz.match_many(frame.loc[communes], "ma_xa", "ten_xa", "tinh", None)
        code[communes] = matched["code"]
        miss = matched.index[matched["code"].isna()]
        errors.append(_errors(miss, k.column("ten_xa").header, matched.loc[miss, "reason"].fillna("không tìm thấy xã").tolist()))
    provinces = queries.provinces(con)
    by_key = {kinds.header_key(n): c for c, n in zip(provinces["code"], provinces["name"])} | \
             {c: c for c in provinces["code"]}
    for i in frame.index[level == "province"]:
        found = by_key.get(frame.at[i, "tinh"].strip()) or by_key.get(kinds.header_key(frame.at[i, "tinh"]))
        if found is None:
            errors.append(_errors(pd.Index([i]), k.column("tinh").header, "không tìm thấy tỉnh", frame.at[i, "tinh"]))
        code[i] = found
    own = scope.of(con, user)
    outside = [i for i in frame.index if code[i] is not None and not pd.isna(code[i])
               and not scope.covers(own, str(code[i]), scope.province_of(con, str(code[i])) if level[i] == "commune" else None)]
    errors.append(_errors(pd.Index(outside), k.column("ma_xa").header if "ma_xa" in frame else "Đơn vị",
                          [f"đơn vị {code[i]} nằm ngoài phạm vi của tài khoản {user.username} ({own.label}); dòng "
                           "này không được nhập" for i in outside], code[outside] if outside else ""))
    errors_df = pd.concat(errors, ignore_index=True)
    unit = level.fillna("") + ":" + code.fillna("")
    spoiled = set(unit[unit.index.isin(errors_df["row"])])
    hit = unit.index[unit.isin(spoiled) & ~unit.index.isin(errors_df["row"]) & code.notna()]
    errors_df = pd.concat([errors_df, _errors(hit, "Dòng", "cùng đơn vị với một dòng bị lỗi; danh sách của đơn vị "
                                                        "chưa được thay")], ignore_index=True)
    ok = frame.index.difference(errors_df["row"].unique())
    report = ingest.ImportReport(k.key, file, digest, "ok", rows=len(frame), encoding=sheet.encoding)
    report.rejects = ingest.rejects_table(frame, errors_df, k)
    report.rejected = int(errors_df["row"].nunique()) if len(errors_df) else 0
    good = pd.DataFrame({"level": level[ok], "code": code[ok], "role": role[ok], "full_name": frame.loc[ok, "nguoi_phu_trach"],
                         "position": frame.loc[ok, "chuc_vu"], "phone": phone[ok], "email": email[ok]})
    now = dt.datetime.now()
    with store.exclusive(current(), ingest.IMPORT_LOCK), db.transaction(con):   # one import number each
        report.import_id = ingest.next_import_id(con)
        for (lvl, unit_code), rows in good.groupby(["level", "code"], sort=True):
            _replace_unit(con, str(lvl), str(unit_code), _normalised(rows), user.username, now)
            report.units_replaced += 1
        report.accepted = len(good)
        report.outcome = "rejected" if not len(good) else "partial" if report.rejected else "ok"
        report.message = report.summary()
        ingest.log_import(con, report, user.username, len(data), None)
        auth.audit(con, user.username, "people_import", file[:150], report.message)
        dataversion.bump(con, "reference:people_in_charge")
    return report
