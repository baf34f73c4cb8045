"""Command-line entry points; each prints a short Vietnamese report and exits non-zero on error."""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from xkld_geo import settings as settings_mod
from xkld_geo import warehouse
from xkld_geo.errors import XkldError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xkld_geo",
                                     description="XKLĐ-Geo: xây dựng và quản lý cơ sở dữ liệu.")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="tạo cơ sở dữ liệu DuckDB nếu chưa có hoặc đã cũ")
    build.add_argument("--force", action="store_true", help="xây lại dù dữ liệu không đổi")
    build.add_argument("--seed", type=int, help="hạt giống của dữ liệu minh họa")
    demo = sub.add_parser("demo", help="tạo lại dữ liệu minh họa trong cơ sở dữ liệu hiện có")
    demo.add_argument("--seed", type=int, required=True, help="hạt giống (số nguyên)")
    sub.add_parser("settings", help="liệt kê các thiết lập và biến môi trường")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors of the project print their message, not a traceback."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = settings_mod.load_settings(secrets={})
        if args.command == "settings":
            print(settings_mod.describe())
        elif args.command == "build":
            if args.seed is not None:
                cfg = replace(cfg, demo_seed=args.seed)
            result = warehouse.build(cfg, force=args.force)
            if result.built:
                print(f"Đã xây cơ sở dữ liệu {result.path}: "
                      + ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))
            else:
                print(f"Cơ sở dữ liệu {result.path} đã cập nhật; không có gì thay đổi.")
        elif args.command == "demo":
            total = warehouse.regenerate_demo(cfg, args.seed)
            print(f"Đã tạo lại dữ liệu minh họa (seed {args.seed}): {total:,} lượt xuất cảnh.")
    except XkldError as exc:
        print(f"Lỗi: {exc.message}", file=sys.stderr)
        return 2
    return 0
