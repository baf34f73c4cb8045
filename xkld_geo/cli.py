"""Command-line entry points; each prints a short Vietnamese report and exits non-zero on error."""
from __future__ import annotations

import argparse
import getpass
import logging
import sys
from dataclasses import replace
from pathlib import Path

import duckdb

from xkld_geo import registrations  # noqa: F401  (registrations: kinds)
from xkld_geo import settings as settings_mod
from xkld_geo.access import auth  # noqa: F401  (registrations: kinds)
from xkld_geo.database import backup, db, leftovers, store  # noqa: F401  (registrations: kinds)
from xkld_geo.errors import AuthError, ConfigError, QueryError, XkldError
from xkld_geo.intake import ingest, kinds
from xkld_geo.maps import warmup
from xkld_geo.release import site as release_site
from xkld_geo.warehouse import assembly


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xkld_geo",
                                     description="XKLĐ-Geo: xây dựng và quản lý cơ sở dữ liệu.")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="tạo cơ sở dữ liệu DuckDB nếu chưa có hoặc đã cũ")
    build.add_argument("--force", action="store_true", help="xây lại dù dữ liệu không đổi")
    build.add_argument("--seed", type=int, help="hạt giống của dữ liệu minh họa")
    build.add_argument("--reseed-store", action="store_true",
                       help="(với XKLD_DATABASE_URL) nạp lại kho PostgreSQL từ bản dựng mới, giữ dữ liệu đã nhập")
    demo = sub.add_parser("demo", help="tạo lại dữ liệu minh họa trong cơ sở dữ liệu hiện có")
    demo.add_argument("--seed", type=int, required=True, help="hạt giống (số nguyên)")
    show = sub.add_parser("settings", help="liệt kê các thiết lập và biến môi trường")
    show.add_argument("--markdown", action="store_true", help="in bảng Markdown của docs/settings.md")
    users = sub.add_parser("users", help="quản lý tài khoản").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="thêm tài khoản (mật khẩu hỏi khi chạy, hoặc đọc từ stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r for r in auth.ROLES if r != "public"])
    add.add_argument("--name", help="tên hiển thị")
    add.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    add.add_argument("--unit", default="VN", help="phạm vi: VN (toàn quốc), mã tỉnh 2 chữ số hoặc mã xã 5 chữ số")
    add.add_argument("--company", help="số giấy phép: tài khoản của một doanh nghiệp")
    add.add_argument("--as", dest="acting", help="tài khoản quản trị thực hiện (phạm vi của nó được áp dụng)")
    many = users.add_parser("import", help="tạo nhiều tài khoản từ tệp CSV (username,role,unit,name,company) "
                                           "với mật khẩu một lần")
    many.add_argument("file", type=Path)
    many.add_argument("--out", type=Path, help="tệp ghi mật khẩu một lần (mặc định: <tệp>.mat-khau.csv; chỉ "
                                               "chủ sở hữu đọc được, không ghi đè)")
    many.add_argument("--as", dest="acting", help="tài khoản quản trị thực hiện (phạm vi của nó được áp dụng)")
    users.add_parser("list", help="liệt kê tài khoản")
    disable = users.add_parser("disable", help="khóa tài khoản")
    disable.add_argument("username")
    users.add_parser("bootstrap", help="tạo quản trị viên đầu tiên (mật khẩu ngẫu nhiên) nếu chưa có tài khoản")
    totp = users.add_parser("totp", help="bật xác thực hai bước (mã TOTP) cho một tài khoản")
    totp.add_argument("username")
    totp_remove = users.add_parser("totp-remove", help="gỡ xác thực hai bước của một tài khoản (mất điện thoại)")
    totp_remove.add_argument("username")
    kind_help = ", ".join(f"{k} ({v.title})" for k, v in kinds.KINDS.items())
    imp = sub.add_parser("import", help="nhập một báo cáo CSV/XLSX theo mẫu (ứng dụng phải đang dừng)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", required=True, choices=list(kinds.KINDS), help=kind_help)
    imp.add_argument("--user", default="cli", help="tài khoản thay mặt (vai trò và phạm vi của nó được áp dụng); "
                                                  "mặc định: người vận hành máy chủ, toàn quốc")
    imp.add_argument("--rejects", type=Path, help="nơi ghi tệp các dòng bị từ chối (.csv hoặc .xlsx)")
    tpl = sub.add_parser("template", help="ghi tệp mẫu để nhập liệu")
    tpl.add_argument("--kind", required=True, choices=list(kinds.KINDS), help=kind_help)
    tpl.add_argument("--out", type=Path, required=True, help="tệp .xlsx hoặc .csv")
    rep = sub.add_parser("report", help="lập báo cáo định kỳ DOCX của một tỉnh (và PDF nếu có LibreOffice)")
    rep.add_argument("--period", required=True, help="2026-11 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng) hoặc 2026")
    rep.add_argument("--province", required=True, help="mã tỉnh 2 chữ số")
    rep.add_argument("--out", type=Path, required=True, help="tệp .docx")
    bk = sub.add_parser("backup", help="sao lưu cơ sở dữ liệu nhúng (bản sao nhất quán, giữ XKLD_BACKUP_KEEP bản)")
    bk.add_argument("--out", type=Path, help="tệp đích (mặc định: XKLD_BACKUP_DIR/xkld-<thời điểm>.duckdb)")
    rs = sub.add_parser("restore", help="khôi phục cơ sở dữ liệu nhúng từ một bản sao lưu (ứng dụng phải đang dừng)")
    rs.add_argument("file", type=Path, help="tệp sao lưu .duckdb")
    fc = sub.add_parser("forecast", help="dự báo số người xuất cảnh cả năm với khoảng 80%% (toàn quốc, tỉnh)")
    fc.add_argument("--backtest", action="store_true",
                    help="chạy lại trên các năm 2021–2025: MAPE, lệch và tỷ lệ khoảng chứa kết quả, "
                         "bên cạnh cách dự báo hiện hành")
    worker = sub.add_parser("worker", help="chạy việc gửi thông báo theo lịch (nhắc hạn, tổng hợp, báo cáo) và gửi thư đi")
    worker.add_argument("--once", action="store_true",
                        help="chạy mọi việc đến hạn hôm nay (XKLD_TODAY), gửi hộp thư đi một lượt rồi thoát (cron)")
    pub = sub.add_parser("publish", help="ghi bản phát hành dữ liệu mở tĩnh (trang web, CSV, XLSX, JSON)")
    pub.add_argument("--out", type=Path, help="thư mục đích (mặc định: XKLD_PUBLISH_DIR)")
    return parser


def _report(cfg: settings_mod.Settings, args: argparse.Namespace) -> int:
    """Write the periodic report of a province; the PDF beside it where LibreOffice is installed."""
    from xkld_geo.reporting import document, report

    con = db.open_store(cfg, read_only=True)
    try:
        data = report.gather(con, report.parse_period(args.period), args.province, cfg.effective_today,
                                cfg.report_due_day)
    finally:
        con.close()
    docx = document.report_docx(data)
    args.out.write_bytes(docx)
    print(f"Đã ghi báo cáo {data.period.label} của {data.province_name}: {args.out}")
    pdf = document.to_pdf(docx)
    if pdf is not None:
        args.out.with_suffix(".pdf").write_bytes(pdf)
        print(f"Bản PDF: {args.out.with_suffix('.pdf')}")
    return 0


def _backup(cfg: settings_mod.Settings, args: argparse.Namespace) -> None:
    if store.enabled(cfg):
        raise ConfigError("Với XKLD_DATABASE_URL, dữ liệu nằm ở PostgreSQL: sao lưu bằng pg_dump "
                          "(scripts/cluster.sh backup, hoặc bộ hẹn giờ trong scripts/deploy/).",
                          field="XKLD_DATABASE_URL")
    if args.command == "restore":
        kept = backup.restore(args.file, cfg.db_path)
        print(f"Đã khôi phục {cfg.db_path} từ {args.file}"
              + (f"; tệp cũ giữ tại {kept}." if kept else "."))
        return
    out = args.out or cfg.backup_dir / backup.default_name()
    con = db.open_connection(cfg.db_path)
    try:
        backup.snapshot(con, out)
    finally:
        con.close()
    if args.out is None:
        backup.prune(cfg.backup_dir, cfg.backup_keep)
    print(f"Đã sao lưu {cfg.db_path} vào {out}.")
def _forecast(cfg: settings_mod.Settings, with_backtest: bool) -> None:
    """Print the backtest of the year-end forecasts, or this year's forecasts (read-only)."""
    from xkld_geo.figures import queries
    from xkld_geo.foresight import forecast

    con = db.open_store(cfg, read_only=True)
    try:
        history = forecast.load_history(con)
        bt = forecast.backtest(history)
        if with_backtest:
            print(forecast.backtest_report(bt))
            return
        year, month = forecast.cutoff(history, cfg.effective_today)
        ye = forecast.year_end(history, bt.skill(), forecast.quotas(con, year), year, month)
        if ye is None:
            raise QueryError("Chưa có tháng nào đủ số liệu để dự báo.", field="tháng")
        names = dict(zip(*queries.provinces(con)[["code", "name"]].to_numpy().T))
        print(forecast.forecast_report(ye, names, queries.meta(con).get("contains_demo") == "true"))
    finally:
        con.close()


def _publish(cfg: settings_mod.Settings, out: Path | None) -> None:
    """Write the static release from the database (read-only: the app must not hold the writer lock)."""
    con = db.open_store(cfg, read_only=True)
    try:
        print(release_site.publish_configured(con, cfg, out).summary())
    finally:
        con.close()


def _auto_publish(cfg: settings_mod.Settings) -> None:
    """After a successful import: publish again when XKLD_PUBLISH_AUTO asks for it."""
    if cfg.publish_auto:
        _publish(cfg, None)


def _users(cfg: settings_mod.Settings, args: argparse.Namespace) -> None:
    """The ``users`` sub-commands; they write to the database, so the app must not be running."""
    con = db.open_store(cfg)
    try:
        if args.users_command == "add":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Mật khẩu: ")
            if args.acting:
                user = auth.add_account(con, auth.account(con, args.acting), args.username, password, args.role,
                                        args.name, unit=args.unit, company=args.company)
            else:
                user = auth.create_user(con, args.username, password, args.role, args.name, unit=args.unit,
                                        company=args.company)
            where = f"doanh nghiệp {user.company}" if user.company else user.unit
            print(f"Đã thêm tài khoản {user.username} ({auth.ROLES[user.role]}, phạm vi {where}).")
        elif args.users_command == "import":
            _users_import(con, args)
        elif args.users_command == "list":
            for r in auth.list_accounts(con).itertuples(index=False):
                where = f"DN {r.company_licence}" if isinstance(r.company_licence, str) else r.unit_code
                print(f"{r.username:20} {r.role:8} {where:8} {r.display_name}{'  (đã khóa)' if r.disabled else ''}")
        elif args.users_command == "disable":
            auth.set_disabled(con, args.username, True)
            print(f"Đã khóa tài khoản {args.username}.")
        elif args.users_command in ("totp", "totp-remove"):
            _second_factor(con, args)
        elif args.users_command == "bootstrap":
            password = auth.bootstrap_admin(con)
            if password:
                print(f"Đã tạo quản trị viên đầu tiên: tên đăng nhập 'admin', mật khẩu '{password}'. "
                      "Hãy ghi lại; mật khẩu này chỉ hiện một lần.")
    finally:
        con.close()


def _second_factor(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """``users totp NAME``: show a new secret and its ``otpauth://`` URI, then turn the factor on
    once a code from the app is typed back; ``users totp-remove NAME``: turn it off."""
    from xkld_geo.access import second_factor
    from xkld_geo.errors import AuthError

    if args.username not in {u[0] for u in auth.list_users(con)}:
        raise AuthError(f"Không có tài khoản '{args.username}'.", field="username", value=args.username)
    if args.users_command == "totp-remove":
        had = second_factor.remove(con, args.username, by="cli")
        print(f"Đã gỡ xác thực hai bước của {args.username}." if had
              else f"Tài khoản {args.username} chưa bật xác thực hai bước.")
        return
    enrolment = second_factor.enrol(con, args.username)
    print(f"Khóa bí mật (nhập vào ứng dụng xác thực): {enrolment.secret}")
    print(f"Hoặc đường dẫn: {enrolment.uri}")
    second_factor.confirm(con, args.username, input("Mã 6 chữ số ứng dụng đang hiện: "), by="cli")
    print(f"Đã bật xác thực hai bước cho {args.username}.")
def _users_import(con: object, args: argparse.Namespace) -> None:
    """``users import FILE.csv``: the accounts all or none, their one-time passwords written once
    to a new file readable by its owner only (0600)."""
    if not args.file.is_file():
        raise ConfigError(f"Không có tệp {args.file}", field="file")
    out = args.out or args.file.with_name(f"{args.file.stem}.mat-khau.csv")
    if out.exists():
        raise ConfigError(f"Tệp {out} đã có; mật khẩu một lần không ghi đè lên tệp cũ. Hãy chọn --out khác.",
                          field="out", value=str(out))
    acting = auth.account(con, args.acting) if args.acting else auth.User("cli", "Người vận hành", "admin")  # type: ignore[arg-type]
    made = auth.import_accounts(con, acting, args.file.read_bytes(), args.file.name)  # type: ignore[arg-type]
    auth.write_passwords(out, made)
    print(f"Đã tạo {len(made)} tài khoản; mật khẩu một lần (đổi khi đăng nhập lần đầu) ghi tại {out} "
          "(chỉ chủ sở hữu đọc được).")


def _actor(con: object, name: str) -> auth.User | str:
    """Who an import acts for: the operator (``cli``, the nation), or an account that exists and
    is enabled, with its role and scope."""
    if name == "cli":
        return name
    user = auth.account(con, name)  # type: ignore[arg-type]
    if not auth.allowed(user, "import_data"):
        raise AuthError(f"Tài khoản {user.username} ({auth.ROLES[user.role]}) không có quyền nhập dữ liệu.",
                        field="user", value=name)
    return user


def _import(cfg: settings_mod.Settings, args: argparse.Namespace) -> int:
    """Import one file; prints the report and writes the rejection file. Exit 1 if rows were refused."""
    if not args.file.is_file():
        print(f"Lỗi: không có tệp {args.file}", file=sys.stderr)
        return 2
    data = args.file.read_bytes()  # size is checked before parsing, inside ingest
    con = db.open_store(cfg)
    try:
        report = ingest.import_file(con, data, args.file.name, args.kind, _actor(con, args.user), cfg)
    finally:
        con.close()
    print(report.summary())
    if report.accepted:
        _auto_publish(cfg)
    if report.rejected:
        out = args.rejects or args.file.with_name(f"{args.file.stem}.bi-tu-choi.csv")
        out.write_bytes(report.rejects_xlsx() if out.suffix.lower() == ".xlsx" else report.rejects_csv())
        print(f"Các dòng bị từ chối (dòng, cột, lý do): {out}")
        return 1
    return 0


def _build_store(cfg: settings_mod.Settings, reseed: bool) -> None:
    """After a build: say what it did to the shared store (schema made current, rows kept), or
    re-seed it with ``--reseed-store`` (xkld_geo.warehouse.seed)."""
    from xkld_geo.warehouse import seed

    if not store.enabled(cfg):
        if reseed:
            raise ConfigError("--reseed-store chỉ dùng khi có kho dùng chung (XKLD_DATABASE_URL=postgresql://…).",
                            field="XKLD_DATABASE_URL")
        return
    print("Tệp trên là dữ liệu tham chiếu cục bộ của bản sao này (XKLD_DB); các bảng được ghi nằm ở PostgreSQL.")
    print((seed.reseed(cfg) if reseed else seed.upgrade(cfg)).message())


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors of the project print their message, not a traceback."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = settings_mod.load_settings(secrets={})
        leftovers.remove(cfg)          # what killed builds and publishes left behind
        if args.command == "settings":
            print(settings_mod.markdown_table() if args.markdown else settings_mod.describe())
        elif args.command == "build":
            if args.seed is not None:
                cfg = replace(cfg, demo_seed=args.seed, seed_is_explicit=True)
            result = assembly.build(cfg, force=args.force)
            if result.built:
                print(f"Đã xây cơ sở dữ liệu {result.path}: "
                      + ", ".join(f"{k} {v:,}" for k, v in result.counts.items() if k != "departures_total"))
            else:
                print(f"Cơ sở dữ liệu {result.path} đã cập nhật; không có gì thay đổi.")
            warmed = warmup.warm_built(cfg)   # geometry files once per build, not once per app process
            if warmed is not None and warmed.built:
                print(f"Đã tạo {warmed.built} tệp hình học bản đồ trong {cfg.geometry_folder}.")
            _build_store(cfg, args.reseed_store)
        elif args.command == "users":
            _users(cfg, args)
        elif args.command == "import":
            return _import(cfg, args)
        elif args.command == "template":
            make = kinds.template_xlsx if args.out.suffix.lower() == ".xlsx" else kinds.template_csv
            args.out.write_bytes(make(args.kind))
            print(f"Đã ghi mẫu '{kinds.KINDS[args.kind].title}': {args.out}")
        elif args.command == "report":
            return _report(cfg, args)
        elif args.command in ("backup", "restore"):
            _backup(cfg, args)
        elif args.command == "publish":
            _publish(cfg, args.out)
        elif args.command == "forecast":
            _forecast(cfg, args.backtest)
        elif args.command == "worker":
            from xkld_geo.notifications import scheduler

            if not args.once:
                scheduler.serve(cfg)
                return 0
            done = scheduler.once(cfg)
            print(done.summary())
            return 1 if any(r.status == "failed" for r in done.jobs) else 0
        elif args.command == "demo":
            total = assembly.regenerate_demo(cfg, args.seed)
            print(f"Đã tạo lại dữ liệu minh họa (seed {args.seed}): {total:,} lượt xuất cảnh.")
    except XkldError as exc:
        print(f"Lỗi: {exc.message}", file=sys.stderr)
        return 2
    return 0
