"""Users, roles, sessions, login rate-limiting and the audit log (no Streamlit here).

Roles, from least to most: ``public`` (no login: the public summary screen only), ``viewer``
(leaders: the internal maps), ``planner`` (quota plans), ``clerk`` (data imports), ``admin``
(users and reference tables; may do everything). Pages and actions ask :func:`allowed`; the check
runs in the page's server-side script, so typing a page's URL does not get around it.

Passwords are hashed with Argon2 (argon2-cffi); sessions are random tokens that expire. Failed
logins slow down the source they come from, the name from that source, and (more gently) the name
from everywhere, with exponential backoff instead of a lock (:func:`throttle`). The name-wide wait
only ever holds back sources that have failed themselves: a source with no recent failure always
has its password checked, so strangers guessing a name from any number of machines never keep its
owner out from another. A second factor (TOTP, :mod:`xkld_geo.access.second_factor`) is offered to every
account and required for administrators, so a guessed password alone is not enough. Known and
unknown names cost the same Argon2 check, so timing does not tell which names exist, and the
failure history is pruned to a bound. Logins, imports, approvals and reference edits are written
to ``audit_log``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from xkld_geo.access.audit import audit, audit_entries  # noqa: F401  (handed on: auth.audit, auth.audit_entries)
from xkld_geo.database import db
from xkld_geo.errors import AuthError, XkldError

if TYPE_CHECKING:
    from xkld_geo.access.scope import Scope

ROLES: dict[str, str] = {"public": "Công chúng", "viewer": "Lãnh đạo (xem)", "planner": "Cán bộ kế hoạch",
                         "clerk": "Cán bộ nhập liệu", "commune": "Cán bộ xã", "admin": "Quản trị"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "public_summary": frozenset(ROLES),
    "overview": frozenset({"viewer", "planner", "clerk", "commune", "admin"}),
    "programme": frozenset({"viewer", "planner", "clerk", "commune", "admin"}),
    "plan_quotas": frozenset({"planner", "admin"}),
    "handle_cases": frozenset({"planner", "admin"}),   # move cases, read their internal notes
    "approve_plans": frozenset({"admin"}),
    "import_data": frozenset({"clerk", "admin"}),
    "edit_reference": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "report_monthly": frozenset({"commune", "clerk", "admin"}),   # the commune's monthly form
    "approve_reports": frozenset({"planner", "admin"}),           # approve / return / un-approve months
    "monthly_reports": frozenset({"commune", "clerk", "planner", "admin"}),   # the page of both
    "company": frozenset({"viewer", "planner", "clerk", "admin"}),   # a company's page (its own, or the nation's)
}
"""Action → roles allowed to do it."""

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 10
SESSION_HOURS = 8

FREE_FAILURES = {"source": 3, "pair": 3, "name": 20}
"""Failures allowed before a wait is imposed, per kind of key: the source (an address), the name
from that source, and the name from every source (a distributed guess). The name-wide wait applies
only to sources with failures of their own (see :func:`throttle`)."""
BAD_CREDENTIALS = "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
"""The one message of every refused login that was checked: it never says which part was wrong."""
MAX_DELAY_FACTOR = {"source": 1.0, "pair": 1.0, "name": 0.1}
"""Share of the ``login_delay_max_s`` setting a key's wait may reach (the name-wide wait stays short)."""
WINDOW = dt.timedelta(hours=24)
"""Failures older than this no longer count (and are pruned)."""
UNKNOWN_SOURCE = "?"


_hasher = PasswordHasher()
_dummy_hash: list[str] = []


def _dummy() -> str:
    """A hash of a random password, checked for unknown or disabled names so that they cost the
    same time as a known one (made once, on first use)."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


@dataclass(frozen=True)
class User:
    """A logged-in user."""

    username: str
    display_name: str
    role: str
    unit: str = "VN"                # scope: VN, a province (2 digits) or a commune (5 digits); see xkld_geo.access.scope
    company: str | None = None      # licence number of a company account
    must_change: bool = False       # a one-time password: the first login must choose a new one


PUBLIC = User("public", "Khách", "public")




def allowed(user: User, action: str) -> bool:
    """Whether ``user`` may do ``action`` (a key of :data:`PERMISSIONS`)."""
    if action not in PERMISSIONS:
        raise KeyError(action)
    return user.role == "admin" or user.role in PERMISSIONS[action]


def create_user(con: duckdb.DuckDBPyConnection, username: str, password: str, role: str,
                display_name: str | None = None, by: str = "cli", unit: str = "VN", company: str | None = None,
                must_change: bool = False) -> User:
    """Add a user after checking the name, the role, the password's length and the scope (``unit``:
    VN, a province or a commune that exists; ``company``: a licence number)."""
    if not USERNAME.match(username or ""):
        raise AuthError("Tên đăng nhập cần 3–32 ký tự: chữ thường không dấu, số, dấu chấm, gạch.",
                        field="username", value=username)
    if role not in ROLES or role == "public":
        raise AuthError(f"Vai trò '{role}' không hợp lệ; chọn một trong: viewer, planner, clerk, commune, admin.",
                        field="role", value=role, allowed=[r for r in ROLES if r != "public"])
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.", field="password")
    exists = db.run(con, "user_exists", "SELECT 1 FROM users WHERE username = $u", {"u": username})
    if len(exists):
        raise AuthError(f"Tài khoản '{username}' đã có.", field="username", value=username)
    name = (display_name or username)[:100]
    where = _checked_scope(con, role, unit, company)
    db.execute(con, "user_add", """
        INSERT INTO users (username, display_name, role, password_hash, created_at, disabled, unit_code,
                           company_licence, must_change_password)
        VALUES ($u, $n, $r, $h, $at, FALSE, $unit, $company, $must)""",
               {"u": username, "n": name, "r": role, "h": _hasher.hash(password), "at": dt.datetime.now(),
                "unit": where.code if where.level != "company" else "VN", "company": company or None,
                "must": must_change})
    audit(con, by, "user_added", username, f"role={role}; scope={where.label}")
    return User(username, name, role, where.code if where.level != "company" else "VN", company or None, must_change)


def list_users(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, bool]]:
    """(username, display name, role, disabled) of every user."""
    df = db.run(con, "users_list", "SELECT username, display_name, role, disabled FROM users ORDER BY 1")
    return list(df.itertuples(index=False, name=None))


def list_accounts(con: duckdb.DuckDBPyConnection, viewer: User | None = None) -> pd.DataFrame:
    """Every account with its scope; for a province administrator only the accounts inside its
    province (``viewer``: the administrator asking)."""
    df = db.run(con, "users_scoped", """
        SELECT u.username, u.display_name, u.role, u.unit_code, u.company_licence, u.disabled,
               u.must_change_password, COALESCE(a.parent_code, CASE WHEN length(u.unit_code) = 2
                                                                THEN u.unit_code END) AS province
        FROM users u LEFT JOIN admin_units a ON a.era = '2025' AND a.level = 'commune' AND a.code = u.unit_code
        ORDER BY u.username""")
    if viewer is not None:
        from xkld_geo.access import scope

        own = scope.of(con, viewer)
        if not own.national:
            df = df[(df["province"] == own.province) & df["company_licence"].isna()]
    return df.reset_index(drop=True)


def set_disabled(con: duckdb.DuckDBPyConnection, username: str, disabled: bool, by: str = "cli") -> None:
    """Disable (or enable again) a user; their open sessions end."""
    db.execute(con, "user_disable", "UPDATE users SET disabled = $d WHERE username = $u",
               {"d": disabled, "u": username})
    db.execute(con, "sessions_end", "DELETE FROM sessions WHERE username = $u", {"u": username})
    audit(con, by, "user_disabled" if disabled else "user_enabled", username)


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def _limits() -> tuple[float, float, int]:
    from xkld_geo.settings import current

    cfg = current()
    return cfg.login_delay_base_s, cfg.login_delay_max_s, cfg.login_failures_kept



def _failures(con: duckdb.DuckDBPyConnection, username: str, source: str,
              now: dt.datetime) -> dict[str, tuple[int, dt.datetime | None]]:
    """(failures since the key's last success within :data:`WINDOW`, time of the newest) per key."""
    df = db.run(con, "login_failures", """
        WITH recent AS (SELECT * FROM login_attempts WHERE at_time > $since),
        keys AS (
            SELECT 'source' AS kind, * FROM recent WHERE source = $s
            UNION ALL SELECT 'pair', * FROM recent WHERE source = $s AND username = $u
            UNION ALL SELECT 'name', * FROM recent WHERE username = $u)
        SELECT kind, count(*) FILTER (WHERE NOT ok) AS n, max(at_time) FILTER (WHERE NOT ok) AS last
        FROM keys k
        WHERE at_time > COALESCE((SELECT max(at_time) FROM keys o WHERE o.kind = k.kind AND o.ok),
                                 TIMESTAMP '1970-01-01')
        GROUP BY kind""", {"since": now - WINDOW, "s": source, "u": username})
    found = {r.kind: (int(r.n), None if pd.isna(r.last) else r.last.to_pydatetime())
             for r in df.itertuples(index=False)}
    return {kind: found.get(kind, (0, None)) for kind in FREE_FAILURES}


def wait_seconds(failures: dict[str, tuple[int, dt.datetime | None]], now: dt.datetime,
                 base: float, cap: float) -> float:
    """How long the next attempt must still wait: for each key past its free failures, ``base``
    doubled per further failure (capped), counted from that key's newest failure."""
    wait = 0.0
    for kind, (n, last) in failures.items():
        extra = n - FREE_FAILURES[kind]
        if extra < 0 or last is None:
            continue
        delay = min(cap * MAX_DELAY_FACTOR[kind], base * 2 ** min(extra, 30))
        wait = max(wait, delay - (now - last).total_seconds())
    return wait


def _prune(con: duckdb.DuckDBPyConnection, failures: dict[str, tuple[int, dt.datetime | None]],
           username: str, source: str, now: dt.datetime, kept: int) -> None:
    """Keep the failure history bounded: at most ``kept`` failures per name and per source (pruned
    when a key reaches it), and every :data:`PRUNE_EVERY` writes: nothing older than
    :data:`WINDOW`, one success per name, at most ``kept`` × 100 failures in all."""
    statements: list[tuple[str, str]] = []
    if failures["name"][0] >= kept:
        statements.append(("login_prune_name", """
            DELETE FROM login_attempts WHERE NOT ok AND username = $u AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok AND username = $u
                ORDER BY at_time DESC LIMIT 1 OFFSET $k)"""))
    if failures["source"][0] >= kept:
        statements.append(("login_prune_source", """
            DELETE FROM login_attempts WHERE NOT ok AND source = $s AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok AND source = $s
                ORDER BY at_time DESC LIMIT 1 OFFSET $k)"""))
    _writes[0] += 1
    if _writes[0] % PRUNE_EVERY == 0:
        statements += [
            ("login_prune_old", "DELETE FROM login_attempts WHERE at_time < $old AND NOT ok"),
            ("login_prune_ok", """DELETE FROM login_attempts a WHERE a.ok AND a.at_time < (
                SELECT max(b.at_time) FROM login_attempts b WHERE b.ok AND b.username = a.username)"""),
            ("login_prune_all", """DELETE FROM login_attempts WHERE NOT ok AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok ORDER BY at_time DESC LIMIT 1 OFFSET $all)""")]
    params = {"old": now - WINDOW, "u": username, "s": source, "k": max(1, kept) - 1, "all": max(1, kept) * 100 - 1}
    for name, sql in statements:
        db.execute(con, name, sql, {k: v for k, v in params.items() if f"${k}" in sql})


PRUNE_EVERY = 50
_writes = [0]


def throttle(failures: dict[str, tuple[int, dt.datetime | None]], now: dt.datetime, base: float,
             cap: float) -> float:
    """How long this attempt must wait before its password may even be checked (0: check it now).

    The source's own wait and the name-from-this-source wait always apply. The name-wide wait
    (failures for the name from every source) applies only when this source has failed since its
    last success: a source with a clean record always gets its password checked, so guesses from
    other machines, however many, cannot keep the owner out; the sources that guess are slowed
    down by the name-wide wait after their first failure."""
    own = wait_seconds({k: failures[k] for k in ("source", "pair")}, now, base, cap)
    if failures["source"][0] == 0:
        return own
    return max(own, wait_seconds({"name": failures["name"]}, now, base, cap))


def _refuse_wait(wait: float) -> AuthError:
    return AuthError(f"Đăng nhập sai nhiều lần; hãy thử lại sau {math.ceil(wait)} giây.",
                     field="username", reason="rate_limited", wait_s=math.ceil(wait))


def login(con: duckdb.DuckDBPyConnection, username: str, password: str,
          now: dt.datetime | None = None, hours: float = SESSION_HOURS,
          source: str | None = None, code: str | None = None) -> tuple[str, User]:
    """Check a password (and the one-time ``code`` of an account with a second factor) and open a
    session; returns (token, user) or raises :class:`AuthError`.

    ``source`` is the client's address (see ``ui.access``). The message never says whether the
    name exists or which part was wrong, and known, unknown and disabled names all cost one Argon2
    check. An attempt that :func:`throttle` holds back is refused without checking the password
    and without being recorded. An administrator without a second factor gets a session that can
    only enrol one (:func:`needs_enrolment`).
    """
    from xkld_geo.access import second_factor

    now = now or dt.datetime.now()
    username = (username or "").strip().lower()[:64]
    source = (source or UNKNOWN_SOURCE)[:64]
    base, cap, kept = _limits()
    failures = _failures(con, username, source, now)
    wait = throttle(failures, now, base, cap)
    if wait > 0:
        raise _refuse_wait(wait)
    row = db.run(con, "user_get", "SELECT display_name, role, password_hash, disabled, unit_code, company_licence, "
                                  "must_change_password FROM users WHERE username = $u", {"u": username})
    known = bool(len(row)) and not bool(row["disabled"].iloc[0])
    stored = row["password_hash"].iloc[0] if known else _dummy()
    try:
        ok = _hasher.verify(stored, password or "") and known
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and second_factor.enabled(con, username):
        ok = second_factor.check(con, username, code, now)
    db.execute(con, "login_attempt", "INSERT INTO login_attempts (username, at_time, ok, source) "
                                     "VALUES ($u, $at, $ok, $s)", {"u": username, "at": now, "ok": ok, "s": source})
    if not ok:
        if failures["source"][0] < kept:  # a long burst is audited once per series, not row by row
            audit(con, username or "?", "login_failed", detail=f"source={source}", now=now)
        _prune(con, failures, username, source, now, kept)
        raise AuthError(BAD_CREDENTIALS, field="password", reason="bad_credentials")
    token = secrets.token_urlsafe(32)
    db.execute(con, "session_open", "INSERT INTO sessions VALUES ($t, $u, $at, $exp)",
               {"t": _token_hash(token), "u": username, "at": now, "exp": now + dt.timedelta(hours=hours)})
    audit(con, username, "login", detail=f"source={source}", now=now)
    _prune(con, failures, username, source, now, kept)
    return token, _user(username, row.iloc[0])


def needs_enrolment(con: duckdb.DuckDBPyConnection, user: User) -> bool:
    """Whether ``user`` must enrol a second factor before doing anything else (an administrator
    without a confirmed one)."""
    from xkld_geo.access import second_factor

    return second_factor.required(user.role) and not second_factor.enabled(con, user.username)


def session_user(con: duckdb.DuckDBPyConnection, token: str | None,
                 now: dt.datetime | None = None) -> User | None:
    """The user of a live session, or None (no token, unknown, expired or disabled)."""
    if not token:
        return None
    found = db.keyed(con, "session_get", """
        SELECT u.username, u.display_name, u.role, u.unit_code, u.company_licence, u.must_change_password
        FROM sessions s JOIN users u ON u.username = s.username
        WHERE s.token_hash = $t AND s.expires_at > $now AND NOT u.disabled""",
                     {"t": _token_hash(token), "now": now or dt.datetime.now()})
    if found is None:
        return None
    username, name, role, unit, company, must = found
    return User(username, name, role, unit or "VN", None if pd.isna(company) else company, bool(must))


def logout(con: duckdb.DuckDBPyConnection, token: str | None) -> None:
    """End a session."""
    if token:
        user = session_user(con, token)
        db.execute(con, "session_end", "DELETE FROM sessions WHERE token_hash = $t", {"t": _token_hash(token)})
        if user:
            audit(con, user.username, "logout")


def bootstrap_admin(con: duckdb.DuckDBPyConnection) -> str | None:
    """Create the first administrator with a random password when there are no users yet.

    Returns the password (to print once) or None when users exist already.
    """
    if len(db.run(con, "users_any", "SELECT 1 FROM users LIMIT 1")):
        return None
    password = secrets.token_urlsafe(12)
    create_user(con, "admin", password, "admin", "Quản trị viên", by="bootstrap")
    return password


# --- Scopes, accounts made in bulk, one-time passwords (see xkld_geo.access.scope and docs/places.md) -------------


def _user(username: str, row: pd.Series) -> User:
    """A :class:`User` from a ``users`` row (display_name, role, unit_code, company_licence, must_change_password)."""
    company = row.get("company_licence")
    return User(username, row["display_name"], row["role"], row.get("unit_code") or "VN",
                None if company is None or pd.isna(company) else str(company),
                bool(row.get("must_change_password") or False))


def _checked_scope(con: duckdb.DuckDBPyConnection, role: str, unit: str | None, company: str | None) -> "Scope":
    """The scope of a new account, refused when the unit does not exist or does not fit the role
    (a commune officer belongs to a commune; a company account is a clerk or a viewer)."""
    from xkld_geo.access import scope

    if company:
        if role not in ("clerk", "viewer"):
            raise AuthError("Tài khoản doanh nghiệp chỉ có vai trò Cán bộ nhập liệu hoặc Lãnh đạo (xem).",
                            field="role", value=role, allowed=["clerk", "viewer"])
        return scope.make(con, None, company)
    code = scope.check_unit(con, unit or scope.NATION)
    found = scope.make(con, code)
    if role == "commune" and found.level != "commune":
        raise AuthError(f"Cán bộ xã phải thuộc một xã (mã 5 chữ số), không phải '{code}'.", field="unit", value=code)
    return found


def account(con: duckdb.DuckDBPyConnection, username: str) -> User:
    """The enabled account ``username`` (for the command line acting as it), or an :class:`AuthError`
    when it is unknown or disabled."""
    row = db.run(con, "user_account", """
        SELECT display_name, role, disabled, unit_code, company_licence, must_change_password FROM users
        WHERE username = $u""", {"u": (username or "").strip().lower()})
    if not len(row) or bool(row["disabled"].iloc[0]):
        raise AuthError(f"Tài khoản '{username}' không có hoặc đã bị khóa; không thể thay mặt tài khoản này.",
                        field="user", value=username, reason="unknown_account")
    return _user(username.strip().lower(), row.iloc[0])


def add_account(con: duckdb.DuckDBPyConnection, admin: User, username: str, password: str, role: str,
                display_name: str | None = None, unit: str = "VN", company: str | None = None,
                must_change: bool = False) -> User:
    """:func:`create_user` on behalf of administrator ``admin``, refused outside its scope: a
    province administrator adds accounts of its province and its communes only, never an
    administrator above it."""
    from xkld_geo.access import scope

    if not allowed(admin, "manage_users"):
        raise AuthError(f"Tài khoản {admin.username} không có quyền quản lý tài khoản.", field="role", value=admin.role)
    if not scope.manages(con, admin, unit, company):
        raise scope.refusal(admin, scope.of(con, admin), company or unit, "tạo tài khoản ở đơn vị này")
    return create_user(con, username, password, role, display_name, by=admin.username, unit=unit, company=company,
                       must_change=must_change)


def change_password(con: duckdb.DuckDBPyConnection, username: str, old: str, new: str) -> None:
    """Replace a password (the first login after a one-time password must do it); the old one is checked."""
    row = db.run(con, "user_hash", "SELECT password_hash FROM users WHERE username = $u AND NOT disabled",
                 {"u": username})
    try:
        ok = bool(len(row)) and _hasher.verify(row["password_hash"].iloc[0], old or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise AuthError("Mật khẩu hiện tại không đúng.", field="password")
    if len(new or "") < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu mới cần ít nhất {MIN_PASSWORD} ký tự.", field="new_password")
    if new == old:
        raise AuthError("Mật khẩu mới phải khác mật khẩu một lần.", field="new_password")
    db.execute(con, "user_password", """
        UPDATE users SET password_hash = $h, must_change_password = FALSE WHERE username = $u""",
               {"h": _hasher.hash(new), "u": username})
    audit(con, username, "password_changed", username)


ACCOUNT_COLUMNS = ("username", "role", "unit", "name", "company")
"""Columns of ``users import FILE.csv`` (``name`` and ``company`` may be empty)."""


def import_accounts(con: duckdb.DuckDBPyConnection, admin: User, data: bytes, file: str) -> list[tuple[str, str]]:
    """Create every account of a CSV (columns :data:`ACCOUNT_COLUMNS`) with a one-time password,
    all or nothing: a bad row refuses the file with its row number, field and reason. Returns
    (username, one-time password) to be written once by the caller (:func:`write_passwords`)."""
    import csv
    import io

    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("username", "role", "unit") if c not in (reader.fieldnames or [])]
    if missing:
        raise AuthError(f"Tệp {file}: thiếu cột {', '.join(missing)} (cần: {', '.join(ACCOUNT_COLUMNS)}).",
                        field="header", file=file, missing=missing)
    rows = list(reader)
    made: list[tuple[str, str]] = []
    with db.transaction(con):
        for i, r in enumerate(rows, start=2):
            password = secrets.token_urlsafe(12)
            try:
                add_account(con, admin, (r.get("username") or "").strip().lower(), password,
                            (r.get("role") or "").strip(), (r.get("name") or "").strip() or None,
                            unit=(r.get("unit") or "").strip() or "VN", company=(r.get("company") or "").strip() or None,
                            must_change=True)
            except XkldError as exc:
                raise type(exc)(f"Tệp {file}, dòng {i}: {exc.message} Chưa tạo tài khoản nào của tệp.",
                                **{**exc.details, "file": file, "row": i}) from exc
            made.append(((r.get("username") or "").strip().lower(), password))
    audit(con, admin.username, "users_imported", file[:200], f"{len(made)} tài khoản")
    return made


def write_passwords(path: Path, made: list[tuple[str, str]]) -> None:
    """Write the one-time passwords once, to a new file only its owner can read (0600); an
    existing file is never overwritten."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("username,mat_khau_mot_lan\n")
        for username, password in made:
            out.write(f"{username},{password}\n")


def _managed(con: duckdb.DuckDBPyConnection, admin: User, username: str, action: str) -> None:
    """Refuse ``admin`` an ``action`` on the account ``username`` unless it manages accounts and the
    account lies inside its scope (a province's administrator, its province's accounts only)."""
    from xkld_geo.access import scope

    target = db.row(con, "user_scope", "SELECT unit_code, company_licence FROM users WHERE username = $u",
                    {"u": username})
    if target is None:
        raise AuthError(f"Không có tài khoản '{username}'.", field="username", value=username)
    company = None if target[1] is None or pd.isna(target[1]) else str(target[1])
    if not allowed(admin, "manage_users") or not scope.manages(con, admin, target[0], company):
        raise scope.refusal(admin, scope.of(con, admin), company or target[0], action)


def disable_account(con: duckdb.DuckDBPyConnection, admin: User, username: str) -> None:
    """:func:`set_disabled` on behalf of ``admin``, refused for an account outside its scope."""
    _managed(con, admin, username, "khóa tài khoản ở đơn vị này")
    set_disabled(con, username, True, by=admin.username)


def remove_second_factor(con: duckdb.DuckDBPyConnection, admin: User, username: str) -> bool:
    """:func:`second_factor.remove` on behalf of an administrator (the administration page): refused
    for an account outside the administrator's scope and for the administrator's own factor (a
    stolen session must not turn off the owner's second factor); audited as ``totp_removed`` by
    ``admin``. Returns whether there was one."""
    from xkld_geo.access import second_factor

    _managed(con, admin, username, "gỡ xác thực hai bước của tài khoản ở đơn vị này")
    if username == admin.username:
        raise AuthError("Không tự gỡ xác thực hai bước của chính mình; hãy nhờ một quản trị viên khác.",
                        field="username", value=username, reason="own_factor")
    return second_factor.remove(con, username, by=admin.username)
