"""The scheduler: runs the notification jobs at their times, exactly once across replicas, and
drives the outbox's sender.

Each job run is one row of ``job_runs``, keyed by (job, the day it is due): a run starts by
inserting its row (``ON CONFLICT DO NOTHING``: of two replicas, one inserts, the other finds it
taken), composes its messages, then in **one transaction** puts them in the outbox and marks its
row done. A run that failed, or whose worker died (still 'running' after :data:`RUN_LEASE`), is
taken over by the next pass; its messages' idempotency keys keep a second run from adding any
twice. Jobs missed while no worker ran are run up to ``notify_catchup_days`` later.

Three ways to run it (docs/notifications.md):

- :func:`start_in_app`: APScheduler's BackgroundScheduler inside each served process (the default,
  ``XKLD_SCHEDULER=app``; with the embedded DuckDB only the app's process may write the file); the
  same scheduler takes the embedded database's daily backup (:func:`start_backups`,
  :func:`xkld_geo.database.backup.scheduled`);
- :func:`serve`: ``python -m xkld_geo worker``, a process of its own (BlockingScheduler);
- :func:`once`: ``python -m xkld_geo worker --once``, every job due now, one pass of the sender, exit
  (cron; tests). ``XKLD_TODAY`` fixes the date.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from xkld_geo.database import backup, db, store
from xkld_geo.errors import ConfigError, XkldError
from xkld_geo.notifications import notices, outbox
from xkld_geo.settings import Settings, current

log = logging.getLogger("xkld_geo.notifications.scheduler")

RUN_LEASE = dt.timedelta(hours=1)
"""A run still 'running' after this long lost its worker (a crash): the next pass takes it over."""
RUN_STATUS: dict[str, str] = {"running": "Đang chạy", "done": "Xong", "failed": "Lỗi"}


@dataclass
class JobResult:
    """One job run of a pass: what it was, and how it went."""

    occurrence: notices.Occurrence
    status: str          # done | failed | taken (another worker has it)
    messages: int = 0
    error: str = ""


def claim_run(con: duckdb.DuckDBPyConnection, settings: Settings, occ: notices.Occurrence, me: str,
              now: dt.datetime | None = None) -> bool:
    """Take the run ``occ`` for this worker: a new row, or one failed or abandoned; False when
    another worker has it (or it is done)."""
    at = now or dt.datetime.now()
    params = {"job": occ.job, "due": occ.due_on, "period": occ.period, "now": at, "me": me}
    try:
        if outbox.atomic_rows(con, settings, "job_run_insert", """
                INSERT INTO job_runs (job, due_on, period, status, started_at, worker)
                VALUES ($job, $due, $period, 'running', $now, $me)
                ON CONFLICT DO NOTHING RETURNING job""", params):
            return True
        return bool(outbox.atomic_rows(con, settings, "job_run_takeover", """
            UPDATE job_runs SET status = 'running', started_at = $now, worker = $me, detail = NULL, finished_at = NULL
            WHERE job = $job AND due_on = $due AND (status = 'failed' OR (status = 'running' AND started_at < $stale))
            RETURNING job""", {"job": occ.job, "due": occ.due_on, "now": at, "me": me, "stale": at - RUN_LEASE}))
    except (duckdb.TransactionException, duckdb.ConstraintException):   # another thread of this process has it
        return False


def _fail_run(con: duckdb.DuckDBPyConnection, occ: notices.Occurrence, me: str, error: str) -> None:
    db.execute(con, "job_run_failed", """
        UPDATE job_runs SET status = 'failed', finished_at = $now, detail = $error
        WHERE job = $job AND due_on = $due AND worker = $me""",
               {"job": occ.job, "due": occ.due_on, "me": me, "now": dt.datetime.now(), "error": error[:1000]})


def run_job(con: duckdb.DuckDBPyConnection, settings: Settings, occ: notices.Occurrence,
            composer: notices.Composer, me: str | None = None) -> JobResult:
    """Run one job if no other worker has: compose, then put the messages in the outbox and mark the
    run done in one transaction. A failure is recorded on the run (taken over by a later pass)."""
    me = me or outbox.worker_id()
    if not claim_run(con, settings, occ, me):
        return JobResult(occ, "taken")
    try:
        messages = composer.compose(occ)
        with db.transaction(con):
            count = notices.put(con, messages)
            db.execute(con, "job_run_done", """
                UPDATE job_runs SET status = 'done', finished_at = $now, messages = $n
                WHERE job = $job AND due_on = $due AND worker = $me""",
                       {"job": occ.job, "due": occ.due_on, "me": me, "now": dt.datetime.now(), "n": count})
    except Exception as exc:   # any failure of one job: recorded and retried, the other jobs still run
        error = exc.message if isinstance(exc, XkldError) else f"{type(exc).__name__}: {exc}"
        log.exception("job %s of %s failed", occ.job, occ.due_on)
        try:
            _fail_run(con, occ, me, error)
        except Exception:  # the store is down: the run stays 'running' and is taken over after RUN_LEASE
            log.exception("could not record the failure of job %s", occ.job)
        return JobResult(occ, "failed", error=error)
    log.info("job %s of %s: %d message(s)", occ.job, occ.due_on, count)
    return JobResult(occ, "done", count)


def run_due_jobs(con: duckdb.DuckDBPyConnection, settings: Settings, today: dt.date | None = None) -> list[JobResult]:
    """Every job run due on ``today`` (default: the settings' today) or missed in the catch-up days."""
    day = today or settings.effective_today
    composer = notices.Composer(con, settings, day)
    me = outbox.worker_id()
    return [run_job(con, settings, occ, composer, me)
            for occ in notices.occurrences(day, settings.report_due_day, settings.notify_catchup_days)]


def last_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The last run of every job (Vietnamese columns), for the administrator."""
    df = db.run(con, "job_runs_last", """
        SELECT job, due_on, period, status, started_at, finished_at, worker, messages, detail FROM job_runs
        QUALIFY row_number() OVER (PARTITION BY job ORDER BY due_on DESC, started_at DESC) = 1""")
    names = {j: name for j, (_, name) in notices.JOBS.items()}
    rows = pd.DataFrame({"job": list(notices.JOBS)}).merge(df, on="job", how="left")
    rows["job"] = rows["job"].map(names)
    rows["status"] = rows["status"].map(RUN_STATUS).fillna("Chưa chạy")
    return rows.rename(columns={"job": "Việc", "due_on": "Ngày đến hạn", "period": "Kỳ báo cáo",
                                "status": "Trạng thái", "started_at": "Bắt đầu", "finished_at": "Kết thúc",
                                "worker": "Tiến trình", "messages": "Số thư", "detail": "Lỗi"})


@dataclass
class WorkerReport:
    """What ``worker --once`` did."""

    jobs: list[JobResult] = field(default_factory=list)
    sent: outbox.SendReport = field(default_factory=outbox.SendReport)

    def summary(self) -> str:
        lines = [f"{notices.JOBS[r.occurrence.job][1]} ({r.occurrence.period}, ngày {r.occurrence.due_on:%d/%m/%Y}): "
                 + {"done": f"xong, {r.messages} thư", "taken": "tiến trình khác đã chạy",
                    "failed": f"lỗi: {r.error}"}[r.status] for r in self.jobs]
        if not self.jobs:
            lines.append("Hôm nay không có việc nào đến hạn.")
        return "\n".join(lines + [self.sent.summary()])


def pass_jobs(settings: Settings) -> list[JobResult]:
    """One pass of the jobs on a cursor of the process's shared connection (closed afterwards)."""
    cur = db.connect(settings)
    try:
        return run_due_jobs(cur, settings)
    finally:
        cur.close()


def pass_send(settings: Settings) -> outbox.SendReport:
    """One pass of the sender on a cursor of the process's shared connection (closed afterwards)."""
    cur = db.connect(settings)
    try:
        return outbox.send_due(cur, settings)
    finally:
        cur.close()


def once(settings: Settings) -> WorkerReport:
    """``worker --once``: every job due now, then one pass of the sender, on a private connection."""
    con = db.open_store(settings)
    try:
        jobs = run_due_jobs(con, settings)
        return WorkerReport(jobs, outbox.send_due(con, settings))
    finally:
        con.close()


def _run_at(settings: Settings) -> tuple[int, int]:
    try:
        hour, minute = (int(x) for x in settings.worker_run_at.split(":"))
        dt.time(hour, minute)
    except ValueError as exc:
        raise ConfigError(f"Giờ chạy '{settings.worker_run_at}' không hợp lệ; dùng dạng HH:MM (ví dụ 07:00).",
                          setting="worker_run_at", value=settings.worker_run_at) from exc
    return hour, minute


def _guarded(what: str, work: Any, settings: Settings) -> None:
    """Run one scheduled pass; log (never raise) its failure, so the scheduler keeps going."""
    try:
        work(settings)
    except Exception:
        log.exception("notification %s pass failed", what)


def _jobs(scheduler: Any, settings: Settings, run_now: bool) -> None:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    hour, minute = _run_at(settings)
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    scheduler.add_job(_guarded, CronTrigger(hour=hour, minute=minute), args=("jobs", pass_jobs, settings),
                      id="notification_jobs", **options)
    scheduler.add_job(_guarded, IntervalTrigger(seconds=max(5.0, settings.worker_send_every_s)),
                      args=("send", pass_send, settings), id="outbox_sender", **options)
    if run_now:   # a worker started after the day's time still runs the day's jobs (and the missed ones)
        now = dt.datetime.now()
        if (now.hour, now.minute) >= (hour, minute):
            scheduler.add_job(_guarded, args=("jobs", pass_jobs, settings), id="notification_jobs_start")


def serve(settings: Settings) -> None:
    """``python -m xkld_geo worker``: the scheduler in the foreground until interrupted."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler()
    _jobs(scheduler, settings, run_now=True)
    log.warning("notification worker started: jobs daily at %s, sender every %.0f s", settings.worker_run_at,
                settings.worker_send_every_s)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


_in_app: list[Any] = []
_in_app_lock = threading.Lock()


def _in_app_scheduler() -> Any:
    """This served process's one BackgroundScheduler, started on first use (caller holds the lock)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    if not _in_app:
        scheduler = BackgroundScheduler(daemon=True)
        scheduler.start()
        _in_app.append(scheduler)
    return _in_app[0]


def _backup_job(settings: Settings) -> None:
    try:
        backup.scheduled(settings)
    except Exception:   # logged, never raised: the scheduler keeps going, tomorrow's backup still runs
        log.exception("daily backup of %s failed", settings.db_path)


def start_backups(settings: Settings | None = None) -> bool:
    """Schedule the daily backup of the embedded database in this served process (once): at
    ``XKLD_BACKUP_TIME`` every day, plus once :data:`backup.CATCHUP_DELAY_S` after the start when the
    last one was missed (:func:`backup.missed`). Nothing with the shared store (pg_dump backs it up)
    or with ``XKLD_BACKUP_TIME=off``. Independent of ``XKLD_SCHEDULER``, which is about notifications:
    only this process may read the embedded file while it runs. True if scheduled."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger

    cfg = settings or current()
    if store.enabled(cfg) or not cfg.backup_time:
        return False
    hour, minute = backup.due_time(cfg.backup_time)
    with _in_app_lock:
        scheduler = _in_app_scheduler()
        if scheduler.get_job("embedded_backup") is None:
            scheduler.add_job(_backup_job, CronTrigger(hour=hour, minute=minute), args=(cfg,), id="embedded_backup",
                              coalesce=True, max_instances=1, misfire_grace_time=3600)
            if backup.missed(cfg):
                at = dt.datetime.now() + dt.timedelta(seconds=backup.CATCHUP_DELAY_S)
                scheduler.add_job(_backup_job, DateTrigger(at), args=(cfg,), id="embedded_backup_missed",
                                  max_instances=1, misfire_grace_time=3600)
    log.info("daily backup of %s at %s into %s", cfg.db_path, cfg.backup_time, cfg.backup_dir)
    return True


def start_in_app(settings: Settings | None = None) -> bool:
    """Start the scheduler in this served process (once): the daily backup of the embedded database
    (:func:`start_backups`), and the notification jobs and the outbox's sender when
    ``XKLD_SCHEDULER=app`` and a channel is configured (an SMTP server or a webhook key; else nothing
    could go out, and the jobs' reports would only cost the served process time); True if the
    notifications run."""
    cfg = settings or current()
    start_backups(cfg)
    if cfg.scheduler != "app":
        return False
    if not cfg.smtp_host and not cfg.webhook_secret:   # nowhere to send: a demo or a bench stays idle
        log.info("notification scheduler not started: no SMTP server and no webhook key are set")
        return False
    with _in_app_lock:
        scheduler = _in_app_scheduler()
        if scheduler.get_job("notification_jobs") is None:
            _jobs(scheduler, cfg, run_now=True)
    log.info("notification scheduler started in the app process")
    return True


def stop_in_app() -> None:
    """Stop this process's scheduler, if it runs (tests; a clean shutdown)."""
    with _in_app_lock:
        while _in_app:
            _in_app.pop().shutdown(wait=False)
