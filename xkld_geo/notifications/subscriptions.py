"""Who receives what: users' addresses and choices, the people in charge, the provinces' webhooks;
and the subscriptions view of the notifications page (:func:`build_subscriptions`; the administrator's
view of the outbox is :func:`xkld_geo.notifications.console.build_outbox`).

Two kinds of recipients:

- **people in charge** (:mod:`xkld_geo.reporting.people`), by the unit they belong to and their role:
  a commune's people get its reminder and missing notice; a province's steering-committee members
  and officers its digest; its vice-chairman in charge (the province's leader) its monthly report and
  pace notices. Their list, addresses included, is kept by the province on the people page;
- **users** with an account, who give an address and turn each kind on or off themselves: the digest,
  report and pace notices of one province they follow, and the review notices of their own reports.
  A user follows only a province within the account's scope (:func:`account_provinces`).

Each message carries commune-level figures of one province (or one commune) only: the recipient's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.access import auth
from xkld_geo.database import db
from xkld_geo.errors import QueryError
from xkld_geo.figures import queries
from xkld_geo.notifications import addresses

KINDS: dict[str, str] = {
    "reminder": "Nhắc hạn báo cáo (2 ngày trước hạn)",
    "missing": "Báo chưa nhận báo cáo (ngày sau hạn)",
    "digest": "Tổng hợp tình hình báo cáo của tỉnh (sau hạn)",
    "report": "Báo cáo định kỳ tháng (DOCX, PDF)",
    "pace": "Xã dưới 50% tiến độ",
    "review": "Báo cáo của tôi được duyệt hoặc bị trả lại",
}
USER_KINDS: tuple[str, ...] = ("digest", "report", "pace", "review")
"""Kinds a user turns on or off; reminders and missing notices go to the communes' people in charge."""
DEFAULT_ON: frozenset[str] = frozenset({"review"})
PROVINCE_KINDS: frozenset[str] = frozenset({"digest", "report", "pace"})
"""Kinds about one province: a user receives them for the province they follow."""
PEOPLE_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("commune", "pho_chu_tich"): ("reminder", "missing"), ("commune", "ban_chi_dao"): ("reminder", "missing"),
    ("commune", "can_bo"): ("reminder", "missing"),
    ("province", "ban_chi_dao"): ("digest",), ("province", "can_bo"): ("digest",),
    ("province", "pho_chu_tich"): ("report", "pace"),
}
"""What a person in charge receives, by the level of their unit and their role."""


def account_provinces(con: duckdb.DuckDBPyConnection, user: auth.User) -> tuple[str, ...] | None:
    """Provinces whose commune-level figures ``user``'s account may read (:mod:`xkld_geo.access.scope`);
    None: every province (a national account). A province account reads its own province; a
    commune or company account reads no province's commune-level figures, so it follows none."""
    from xkld_geo.access import scope

    own = scope.of(con, user)
    if own.national:
        return None
    if own.level == "province":
        return (own.code,)
    return ()


def _check_province(con: duckdb.DuckDBPyConnection, user: auth.User, province: str | None) -> None:
    if province is None:
        return
    queries.check_code("tỉnh", province, 2)
    known = set(queries.provinces(con)["code"])
    allowed = account_provinces(con, user)
    if province not in known or (allowed is not None and province not in allowed):
        raise QueryError(f"Tỉnh mã {province} không có hoặc nằm ngoài phạm vi của tài khoản {user.username}.",
                         field="province", value=province, allowed=sorted(allowed or known))


def contact(con: duckdb.DuckDBPyConnection, username: str) -> tuple[str | None, str | None]:
    """A user's address and followed province (None, None when never given)."""
    found = db.row(con, "notify_contact", "SELECT email, province_code FROM notification_contacts WHERE username = $u",
                   {"u": username})
    if not found:
        return None, None
    return (None if pd.isna(found[0]) else str(found[0])), (None if pd.isna(found[1]) else str(found[1]))


def save_contact(con: duckdb.DuckDBPyConnection, user: auth.User, email: str, province: str | None) -> None:
    """Save the user's own address (checked; empty: receive nothing) and followed province (within
    the account's scope); audited. Refused with a Vietnamese message, nothing written, when bad."""
    if user.role == "public":
        raise QueryError("Cần đăng nhập để đăng ký nhận thông báo.", field="role", value=user.role)
    address = addresses.check_email(email, "email") if (email or "").strip() else None
    province = province or None
    _check_province(con, user, province)
    now = dt.datetime.now()
    with db.transaction(con):
        db.execute(con, "notify_contact_delete", "DELETE FROM notification_contacts WHERE username = $u",
                   {"u": user.username})
        db.execute(con, "notify_contact_insert", "INSERT INTO notification_contacts VALUES ($u, $e, $p, $at)",
                   {"u": user.username, "e": address, "p": province, "at": now})
        auth.audit(con, user.username, "notify_contact", user.username, f"email={address or ''} tinh={province or ''}",
                   now=now)


def subscription_states(con: duckdb.DuckDBPyConnection, username: str) -> dict[str, bool]:
    """Each user kind: on or off (the default where the user never chose)."""
    df = db.run(con, "notify_subscriptions", "SELECT kind, enabled FROM notification_subscriptions WHERE username = $u",
                {"u": username})
    chosen = dict(zip(df["kind"], df["enabled"].astype(bool)))
    return {k: bool(chosen.get(k, k in DEFAULT_ON)) for k in USER_KINDS}


def set_subscription(con: duckdb.DuckDBPyConnection, user: auth.User, kind: str, enabled: bool) -> None:
    """Turn one kind on or off for the user; audited."""
    if user.role == "public":
        raise QueryError("Cần đăng nhập để đăng ký nhận thông báo.", field="role", value=user.role)
    queries.check_choice("loại thông báo", kind, {k: KINDS[k] for k in USER_KINDS})
    now = dt.datetime.now()
    with db.transaction(con):
        db.execute(con, "notify_subscription_delete",
                   "DELETE FROM notification_subscriptions WHERE username = $u AND kind = $k",
                   {"u": user.username, "k": kind})
        db.execute(con, "notify_subscription_insert", "INSERT INTO notification_subscriptions VALUES ($u, $k, $e, $at)",
                   {"u": user.username, "k": kind, "e": bool(enabled), "at": now})
        auth.audit(con, user.username, "notify_subscription", kind, "bật" if enabled else "tắt", now=now)


def user_recipients(con: duckdb.DuckDBPyConnection, kind: str, province: str | None = None) -> list[tuple[str, str]]:
    """(username, address) of the active users who receive ``kind`` (for ``province`` when it is
    about one): an address given, the kind on, the province followed."""
    df = db.run(con, "notify_user_recipients", """
        SELECT c.username, c.email, c.province_code, s.enabled
        FROM notification_contacts c JOIN users u ON u.username = c.username AND NOT u.disabled
        LEFT JOIN notification_subscriptions s ON s.username = c.username AND s.kind = $kind
        WHERE c.email IS NOT NULL ORDER BY c.username""", {"kind": kind})
    out = []
    for r in df.itertuples(index=False):
        on = (kind in DEFAULT_ON) if pd.isna(r.enabled) else bool(r.enabled)
        if not on or (kind in PROVINCE_KINDS and (pd.isna(r.province_code) or r.province_code != province)):
            continue
        out.append((str(r.username), str(r.email)))
    return out


def people_recipients(con: duckdb.DuckDBPyConnection, kind: str, level: str, code: str) -> pd.DataFrame:
    """The people in charge of unit ``level:code`` who receive ``kind`` (full_name, role, phone, email;
    those without an address included: a webhook can text them)."""
    roles = [role for (lvl, role), kinds in PEOPLE_KINDS.items() if lvl == level and kind in kinds]
    return db.run(con, "notify_people_recipients", """
        SELECT full_name, role, phone, email FROM people_in_charge
        WHERE unit_level = $level AND unit_code = $code AND list_contains($roles, role)
        ORDER BY role, seq""", {"level": level, "code": code, "roles": roles})


def webhook_of(con: duckdb.DuckDBPyConnection, province: str) -> str | None:
    """The province's webhook URL when one is set and on."""
    found = db.value(con, "notify_webhook_of",
                     "SELECT url FROM province_webhooks WHERE province_code = $p AND enabled", {"p": province})
    return None if found is None else str(found)


def save_webhook(con: duckdb.DuckDBPyConnection, admin: auth.User, province: str, url: str, enabled: bool) -> None:
    """Set (or, with an empty URL, remove) a province's webhook; administrators only, URL checked, audited."""
    if not auth.allowed(admin, "manage_users"):
        raise QueryError(f"Tài khoản {admin.username} không có quyền đặt webhook.", field="role", value=admin.role,
                         allowed=["admin"])
    _check_province(con, admin, province)
    address = addresses.check_url(url) if (url or "").strip() else None
    now = dt.datetime.now()
    with db.transaction(con):
        db.execute(con, "notify_webhook_delete", "DELETE FROM province_webhooks WHERE province_code = $p",
                   {"p": province})
        if address:
            db.execute(con, "notify_webhook_insert", "INSERT INTO province_webhooks VALUES ($p, $url, $on, $at, $u)",
                       {"p": province, "url": address, "on": bool(enabled), "at": now, "u": admin.username})
        auth.audit(con, admin.username, "notify_webhook", province, address or "(xóa)", now=now)


def webhooks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every province's webhook."""
    return db.run(con, "notify_webhooks", """
        SELECT w.province_code, u.name AS province_name, w.url, w.enabled, w.updated_at, w.updated_by
        FROM province_webhooks w LEFT JOIN admin_units u ON u.era = '2025' AND u.level = 'province'
             AND u.code = w.province_code ORDER BY w.province_code""")


@dataclass(frozen=True)
class SubscriptionsView:
    """What the page shows a user: address, followed province, each kind on/off, and what they get
    as a person in charge (found by their address)."""

    email: str
    province: str | None
    provinces: dict[str, str]
    kinds: pd.DataFrame           # kind, label, enabled, note
    as_person: pd.DataFrame       # Đơn vị, Vai trò, Nhận


def build_subscriptions(con: duckdb.DuckDBPyConnection, user: auth.User) -> SubscriptionsView:
    """The subscriptions view of ``user``."""
    from xkld_geo.reporting import people

    email, province = contact(con, user.username)
    table = queries.provinces(con)
    allowed = account_provinces(con, user)
    provinces = {str(c): str(n) for c, n in zip(table["code"], table["name"]) if allowed is None or c in allowed}
    states = subscription_states(con, user.username)
    notes = {k: ("cần chọn tỉnh theo dõi" if k in PROVINCE_KINDS and not province else "") for k in USER_KINDS}
    kinds = pd.DataFrame({"kind": list(USER_KINDS), "label": [KINDS[k] for k in USER_KINDS],
                          "enabled": [states[k] for k in USER_KINDS], "note": [notes[k] for k in USER_KINDS]})
    rows: list[tuple[str, str, str]] = []
    if email:
        found = db.run(con, "notify_as_person", """
            SELECT unit_level, unit_code, role FROM people_in_charge WHERE lower(email) = $e
            ORDER BY unit_level DESC, unit_code""", {"e": email.lower()})
        for r in found.itertuples(index=False):
            what = PEOPLE_KINDS.get((str(r.unit_level), str(r.role)), ())
            rows.append((f"{people.LEVELS.get(str(r.unit_level), r.unit_level)} {r.unit_code}",
                         people.ROLES.get(str(r.role), str(r.role)), "; ".join(KINDS[k] for k in what)))
    return SubscriptionsView(email or "", province, provinces, kinds,
                             pd.DataFrame(rows, columns=["Đơn vị", "Vai trò", "Nhận"]))
