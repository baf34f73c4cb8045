"""Settings of XKLĐ-Geo, declared in one place with defaults and help.

Each setting is read, in order, from the environment variable named in its declaration, then from
``st.secrets`` (when the app runs under Streamlit and a secrets file defines it), then from its
default. Nothing else in the code base reads ``os.environ`` for configuration.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from xkld_geo.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding ``app.py``; relative defaults are resolved against it."""


@dataclass(frozen=True)
class Setting:
    """Declaration of one setting: its environment variable, default and help text."""

    name: str
    env: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"Ngày '{value}' không hợp lệ; dùng dạng YYYY-MM-DD.", setting="today", value=value
        ) from exc


def _parse_optional_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _parse_threshold(value: str) -> int:
    number = int(value)
    if number < 2:
        raise ConfigError(f"Ngưỡng công khai {value} không hợp lệ; cần số nguyên từ 2 trở lên.",
                          setting="public_threshold", value=value)
    return number


def _parse_store_reads(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("keyed", "scan"):
        raise ConfigError(f"XKLD_STORE_READS '{value}' không hợp lệ; dùng keyed hoặc scan.",
                          setting="store_reads", value=value, allowed=["keyed", "scan"])
    return mode


def _parse_scheduler(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("app", "worker", "off"):
        raise ConfigError(f"XKLD_SCHEDULER '{value}' không hợp lệ; chọn app, worker hoặc off.", setting="scheduler",
                          value=value, allowed=["app", "worker", "off"])
    return mode


def _parse_backup_time(value: str) -> str:
    text = value.strip().lower()
    if text in ("", "off", "0", "false", "no", "không"):
        return ""
    try:
        hour, minute = (int(x) for x in text.split(":"))
        dt.time(hour, minute)
    except ValueError as exc:
        raise ConfigError(f"XKLD_BACKUP_TIME '{value}' không hợp lệ; dùng dạng HH:MM (ví dụ 02:00) hoặc off.",
                          setting="backup_time", value=value) from exc
    return f"{hour:02d}:{minute:02d}"


def _parse_warmup(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("priority", "geometry-first"):
        raise ConfigError(f"XKLD_WARMUP '{value}' không hợp lệ; dùng priority hoặc geometry-first.",
                          setting="warmup", value=value, allowed=["priority", "geometry-first"])
    return mode


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "có"}


DECLARED: tuple[Setting, ...] = (
    Setting("data_dir", "XKLD_DATA_DIR", None,
            "Folder holding boundaries/ and stats/ (the staged public data). When unset: "
            "data/ in the project if it has boundaries, else ../shared/data.",
            _parse_optional_path),
    Setting("db_path", "XKLD_DB", PROJECT_ROOT / "data" / "xkld.duckdb",
            "The DuckDB file that holds boundaries, statistics, quotas and views.",
            lambda v: Path(v).expanduser()),
    Setting("database_url", "XKLD_DATABASE_URL", "",
            "Shared store for several app replicas: postgresql://user@host:port/dbname. Empty (the "
            "default): everything stays in the embedded DuckDB file db_path. Set: the tables that are "
            "written (accounts, sessions, audit, plans, quotas, imports, reported figures...) live in "
            "PostgreSQL and db_path holds only the reference data this replica builds.", str),
    Setting("demo_seed", "XKLD_DEMO_SEED", 2025,
            "Seed of the demo generator used by `build` when the database has no statistics.", int),
    Setting("today", "XKLD_TODAY", None,
            "Date taken as 'today' (YYYY-MM-DD): the demo data runs to this month. Default: the clock.",
            _parse_date),
    Setting("report_due_day", "XKLD_REPORT_DUE_DAY", 5,
            "Day of the next month by which a commune's monthly report is due; a month whose report "
            "is not yet due is never counted as missed.", int),
    Setting("query_timeout_s", "XKLD_QUERY_TIMEOUT", 30.0,
            "Seconds after which a DuckDB query is interrupted.", float),
    Setting("slow_query_ms", "XKLD_SLOW_QUERY_MS", 500.0,
            "Queries slower than this are logged at WARNING level.", float),
    Setting("offline_assets", "XKLD_OFFLINE_ASSETS", True,
            "Serve Leaflet from the app's static/ folder (never a CDN).", _parse_bool),
    Setting("static_url", "XKLD_STATIC_URL", "/app/static",
            "URL prefix under which Streamlit serves the project's static/ folder.", str),
    Setting("max_upload_mb", "XKLD_MAX_UPLOAD_MB", 50.0,
            "Imported files larger than this (MB) are refused before they are read.", float),
    Setting("max_import_rows", "XKLD_MAX_IMPORT_ROWS", 2_000_000,
            "Imported files with more data rows than this are refused before they are parsed.", int),
    Setting("max_import_columns", "XKLD_MAX_IMPORT_COLUMNS", 200,
            "Imported files with more columns than this are refused before they are parsed "
            "(the templates have at most 14).", int),
    Setting("max_cell_chars", "XKLD_MAX_CELL_CHARS", 1000,
            "Imported files with a cell longer than this (characters) are refused.", int),
    Setting("max_unzipped_mb", "XKLD_MAX_UNZIPPED_MB", 500.0,
            "An XLSX whose parts would unzip to more than this (MB in total) is refused before it is parsed.",
            float),
    Setting("max_xlsx_part_mb", "XKLD_MAX_XLSX_PART_MB", 64.0,
            "Largest unzipped size (MB) of an XLSX part that is read whole (shared strings, styles, "
            "workbook); only the worksheets themselves are streamed.", float),
    Setting("max_zip_ratio", "XKLD_MAX_ZIP_RATIO", 100.0,
            "An XLSX part over 1 MB that unzips to more than this many times its packed size is refused "
            "(a decompression bomb; real spreadsheets pack 5-30 times).", float),
    Setting("max_zip_members", "XKLD_MAX_ZIP_MEMBERS", 500,
            "An XLSX packing more parts than this is refused (an ordinary one has 10-20).", int),
    Setting("max_shared_strings", "XKLD_MAX_SHARED_STRINGS", 4_000_000,
            "An XLSX declaring more shared strings (distinct texts) than this is refused before they are "
            "loaded.", int),
    Setting("max_xlsx_rows", "XKLD_MAX_XLSX_ROWS", 100_000,
            "An XLSX whose sheets hold more rows than this is refused within seconds, counted on the raw "
            "sheet before it is parsed (reading an XLSX costs far more time and memory than a CSV; bigger "
            "files go in as CSV, up to XKLD_MAX_IMPORT_ROWS).", int),
    Setting("import_queue_mb", "XKLD_IMPORT_QUEUE_MB", 5.0,
            "Imports of files at least this big (MB) take turns, one at a time per server, so that two "
            "big uploads never hold their memory at once; the clerk is told their place in the queue.",
            float),
    Setting("min_free_mb", "XKLD_MIN_FREE_MB", 64.0,
            "An import is refused, before it writes, when the database's disk has less free space than this "
            "(MB), so it never starts on a disk it cannot finish on.", float),
    Setting("public_threshold", "XKLD_PUBLIC_THRESHOLD", 5,
            "Rounding base of every public count (at least 2): counts from 1 to one less are shown as "
            "'< threshold', larger ones rounded to the nearest multiple, so months cannot be subtracted.",
            _parse_threshold),
    Setting("max_text_chars", "XKLD_MAX_TEXT_CHARS", 2000,
            "Longest free text the server accepts (plan comments, notices, reference table cells); "
            "longer text is refused with a message, whatever the browser sent.", int),
    Setting("login_delay_base_s", "XKLD_LOGIN_DELAY_BASE", 1.0,
            "Seconds a login from the same source, or for the same name, must wait after its first "
            "failures; the wait doubles with each further failure (exponential backoff, no hard lock).",
            float),
    Setting("login_delay_max_s", "XKLD_LOGIN_DELAY_MAX", 300.0,
            "The longest wait a burst of failed logins can impose on a source or a name.", float),
    Setting("login_failures_kept", "XKLD_LOGIN_FAILURES_KEPT", 50,
            "Failed logins kept per user name and per source (older ones are deleted).", int),
    Setting("trusted_proxies", "XKLD_TRUSTED_PROXIES", "",
            "Comma-separated addresses of reverse proxies whose X-Forwarded-For header names the "
            "client's address; empty: the header is ignored and the connection's address is used.", str),
    Setting("publish_dir", "XKLD_PUBLISH_DIR", PROJECT_ROOT / "data" / "public_release",
            "Folder the static open-data release is written to (`python -m xkld_geo publish`): "
            "releases/YYYY-MM/ and latest/, to be copied to a public web server.",
            lambda v: Path(v).expanduser()),
    Setting("publish_auto", "XKLD_PUBLISH_AUTO", False,
            "Publish the static release again after each successful import or plan approval.", _parse_bool),
    Setting("id_key", "XKLD_ID_KEY", None,
            "Secret key (hex, 64 characters) for the keyed hash of citizen ID numbers in worker "
            "registers. When unset, the key is read from (or created in) id_key_file.",
            lambda v: v or None),
    Setting("id_key_file", "XKLD_ID_KEY_FILE", PROJECT_ROOT / "data" / "secrets" / "id_hash.key",
            "File holding the ID-hash key, outside the database (created on first use, mode 600). "
            "Keep it and back it up: without it, re-reported workers are no longer recognised.",
            lambda v: Path(v).expanduser()),
    Setting("cache", "XKLD_CACHE", True,
            "Share reference data, period figures and map geometry across sessions, computed once per data "
            "version (xkld_geo.database.cache), and send map shapes as browser-cached files; 'off' computes every "
            "page run afresh: the baseline bench/load_bench.py compares with.", _parse_bool),
    Setting("backup_dir", "XKLD_BACKUP_DIR", PROJECT_ROOT / "data" / "backups",
            "Folder of the embedded database's backups (`python -m xkld_geo backup`): consistent copies, "
            "mode 600, named by time; copy them off the machine.", lambda v: Path(v).expanduser()),
    Setting("backup_keep", "XKLD_BACKUP_KEEP", 14,
            "How many of the newest backups `backup` keeps in backup_dir (older ones are deleted).", int),
    Setting("backup_time", "XKLD_BACKUP_TIME", "02:00",
            "Time of day (HH:MM, local) the served app copies its embedded database into backup_dir (a "
            "consistent copy taken while it runs, then the oldest beyond backup_keep deleted); a backup missed "
            "while the app was stopped is taken 10 minutes after it starts. 'off': none (use cron with "
            "`python -m xkld_geo backup` while the app is stopped). Ignored with XKLD_DATABASE_URL (pg_dump).",
            _parse_backup_time),
    Setting("warmup", "XKLD_WARMUP", "priority",
            "Order of the served app's start-up warm-up. 'priority' (the default): what the first page of a "
            "meeting needs first (the overview's latest national figures, then the national map), then each "
            "province's map and the older periods; 'geometry-first': every map layer, then the figures (the "
            "order before, the baseline of `bench/load_bench.py --cold`).", _parse_warmup),
    Setting("store_reads", "XKLD_STORE_READS", "keyed",
            "How a replica of the shared store asks PostgreSQL the small questions of every page run. "
            "'keyed' (the default): a session's account by its key, straight from PostgreSQL (one "
            "statement, its index), and the data version at most twice a second per replica. 'scan': "
            "both through the postgres extension on every page run, which reads the joined tables whole "
            "(the baseline bench/store_bench.py compares with).", _parse_store_reads),
    Setting("geometry_dir", "XKLD_GEOMETRY_DIR", None,
            "Folder keeping the maps' published geometry files (xkld_geo.maps.geometry), so each is built "
            "once per build of the database instead of once per process. When unset: beside db_path "
            "(data/xkld.geometry for data/xkld.duckdb).", _parse_optional_path),
    Setting("smtp_host", "XKLD_SMTP_HOST", "",
            "SMTP server the notifications (reminders, digests, reports) are sent through; empty: e-mails wait "
            "in the outbox (docs/notifications.md).", str),
    Setting("smtp_port", "XKLD_SMTP_PORT", 587,
            "Port of the SMTP server (587: submission with STARTTLS; 465: TLS from the start; 25: plain).", int),
    Setting("smtp_starttls", "XKLD_SMTP_STARTTLS", True,
            "Upgrade the SMTP connection with STARTTLS before logging in (refused by the server: the message "
            "waits with the error).", _parse_bool),
    Setting("smtp_user", "XKLD_SMTP_USER", "",
            "User name for SMTP authentication; empty: no login.", str),
    Setting("smtp_password", "XKLD_SMTP_PASSWORD", "",
            "Password for SMTP authentication (put it in the environment or st.secrets, never in a file "
            "under version control).", str),
    Setting("smtp_sender", "XKLD_SMTP_SENDER", "XKLĐ-Geo <khong-tra-loi@xkld.example>",
            "From address of every notification e-mail.", str),
    Setting("smtp_timeout_s", "XKLD_SMTP_TIMEOUT", 20.0,
            "Seconds to wait for the SMTP server or a webhook before an attempt counts as failed.", float),
    Setting("webhook_secret", "XKLD_WEBHOOK_SECRET", "",
            "Shared secret signing each webhook body (HMAC-SHA256, header X-XKLD-Signature); empty: webhook "
            "messages wait with an error until it is set.", str),
    Setting("outbox_max_attempts", "XKLD_OUTBOX_MAX_ATTEMPTS", 12,
            "Attempts after which a message that keeps failing is marked failed (shown with its last error; "
            "an administrator can send it again).", int),
    Setting("outbox_backoff_s", "XKLD_OUTBOX_BACKOFF", 60.0,
            "Wait before the second attempt of a failed message; it doubles with each further attempt.", float),
    Setting("outbox_backoff_max_s", "XKLD_OUTBOX_BACKOFF_MAX", 3600.0,
            "Longest wait between two attempts of a failed message.", float),
    Setting("outbox_lease_s", "XKLD_OUTBOX_LEASE", 300.0,
            "Seconds a sender holds a message it claimed; a message still 'sending' after that was interrupted "
            "by a crash and is not sent again by itself (at most once; see docs/notifications.md).", float),
    Setting("scheduler", "XKLD_SCHEDULER", "app",
            "Who runs the notification jobs and sends the outbox: 'app' (a scheduler thread inside each served "
            "process), 'worker' (scripts/run.sh starts `python -m xkld_geo worker` beside the app; needs "
            "XKLD_DATABASE_URL, as only one process may write the embedded file), 'off' (cron runs "
            "`python -m xkld_geo worker --once`).", _parse_scheduler),
    Setting("worker_run_at", "XKLD_WORKER_RUN_AT", "07:00",
            "Time of day (HH:MM, local) the daily notification jobs run.", str),
    Setting("worker_send_every_s", "XKLD_WORKER_SEND_EVERY", 60.0,
            "Seconds between two passes of the outbox sender in the long-running scheduler.", float),
    Setting("notify_catchup_days", "XKLD_NOTIFY_CATCHUP_DAYS", 3,
            "A daily job missed while no worker ran (a restart, an outage) is still run this many days later.",
            int),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings`."""

    data_dir: Path | None
    db_path: Path
    database_url: str
    demo_seed: int
    today: dt.date | None
    report_due_day: int
    query_timeout_s: float
    slow_query_ms: float
    offline_assets: bool
    static_url: str
    max_upload_mb: float
    max_import_rows: int
    max_import_columns: int
    max_cell_chars: int
    max_unzipped_mb: float
    max_xlsx_part_mb: float
    max_zip_ratio: float
    max_zip_members: int
    max_shared_strings: int
    min_free_mb: float
    public_threshold: int
    max_text_chars: int
    login_delay_base_s: float
    login_delay_max_s: float
    login_failures_kept: int
    trusted_proxies: str
    publish_dir: Path
    publish_auto: bool
    id_key: str | None
    id_key_file: Path
    seed_is_explicit: bool = False   # XKLD_DEMO_SEED (or a --seed) was given, not the default
    cache: bool = True               # XKLD_CACHE: the shared caches and fetched geometry (issue 15)
    backup_dir: Path = PROJECT_ROOT / "data" / "backups"
    backup_keep: int = 14
    backup_time: str = "02:00"       # XKLD_BACKUP_TIME: the served app's daily backup of the embedded file
    warmup: str = "priority"         # XKLD_WARMUP: the start-up warm-up's order
    store_reads: str = "keyed"       # XKLD_STORE_READS: keyed lookups on the shared store, or the scan baseline
    geometry_dir: Path | None = None  # XKLD_GEOMETRY_DIR: persisted geometry files (None: beside db_path)
    max_xlsx_rows: int = 100_000     # XKLD_MAX_XLSX_ROWS
    import_queue_mb: float = 5.0     # XKLD_IMPORT_QUEUE_MB
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_sender: str = "XKLĐ-Geo <khong-tra-loi@xkld.example>"
    smtp_timeout_s: float = 20.0
    webhook_secret: str = ""
    outbox_max_attempts: int = 12
    outbox_backoff_s: float = 60.0
    outbox_backoff_max_s: float = 3600.0
    outbox_lease_s: float = 300.0
    scheduler: str = "app"
    worker_run_at: str = "07:00"
    worker_send_every_s: float = 60.0
    notify_catchup_days: int = 3

    @property
    def geometry_folder(self) -> Path:
        """Where published geometry files are kept: ``geometry_dir``, or beside the database file."""
        return self.geometry_dir or Path(self.db_path).with_suffix(".geometry")

    @property
    def effective_today(self) -> dt.date:
        """The configured date, or the clock's date."""
        return self.today or dt.date.today()


def _streamlit_secrets() -> Mapping[str, Any]:
    """``st.secrets`` when running under Streamlit with a secrets file, else an empty mapping."""
    try:
        import streamlit as st  # local import: only the UI layer needs Streamlit

        return dict(st.secrets)
    except Exception:  # no secrets file, or not under Streamlit
        return {}


def load_settings(environ: Mapping[str, str] | None = None,
                  secrets: Mapping[str, Any] | None = None) -> Settings:
    """Resolve every declared setting from the environment, then secrets, then its default."""
    env = os.environ if environ is None else environ
    sec = _streamlit_secrets() if secrets is None else secrets
    values: dict[str, Any] = {}
    for decl in DECLARED:
        raw = env.get(decl.env)
        if raw is None and decl.name in sec:
            raw = str(sec[decl.name])
        if raw is None:
            values[decl.name] = decl.default
            continue
        try:
            values[decl.name] = decl.parse(raw)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Giá trị '{raw}' của {decl.env} không hợp lệ: {decl.help}",
                              setting=decl.name, value=raw) from exc
    values["seed_is_explicit"] = "XKLD_DEMO_SEED" in env or "demo_seed" in sec
    assert {f.name for f in fields(Settings)} == set(values)
    return Settings(**values)


_current: dict[tuple[str | None, ...], Settings] = {}


def current() -> Settings:
    """The process's settings, resolved once (environment, ``st.secrets``, defaults) and reused by
    every query and page run; resolved again only when a declared environment variable changes
    (tests set them), so a hot path never re-reads the secrets file."""
    key = tuple(os.environ.get(d.env) for d in DECLARED)
    found = _current.get(key)
    if found is None:
        found = _current[key] = load_settings()
    return found


def _shown_default(value: Any) -> str:
    """A default as the docs show it: paths relative to the project, None as '(unset)'."""
    if value is None:
        return "(unset)"
    if isinstance(value, Path):
        try:
            return value.relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            return value.as_posix()
    if value == "":
        return "(empty)"
    return str(value)


def markdown_table() -> str:
    """Every declared setting as a Markdown table: the source of ``docs/settings.md``, regenerated by
    ``python -m xkld_geo settings --markdown`` (a test keeps the page equal to it)."""
    rows = ["| variable | `st.secrets` name | default | meaning |", "|---|---|---|---|"]
    for d in DECLARED:
        text = d.help.replace("|", "\\|")
        rows.append(f"| `{d.env}` | `{d.name}` | `{_shown_default(d.default)}` | {text} |")
    return "\n".join(rows)


def describe() -> str:
    """A table of every setting, its environment variable, default and help (for the command line)."""
    rows = [f"{d.env:22} {str(d.default):30} {d.help}" for d in DECLARED]
    return "\n".join(rows)
