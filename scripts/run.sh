#!/usr/bin/env bash
# Set up the environment, build the database if missing or stale, and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m xkld_geo build
.venv/bin/python -m xkld_geo users bootstrap
if [ "${XKLD_SCHEDULER:-app}" = worker ]; then   # notifications in a process of their own (docs/notifications.md)
  if [ -n "${XKLD_DATABASE_URL:-}" ]; then
    .venv/bin/python -m xkld_geo worker &
  else
    echo "XKLD_SCHEDULER=worker cần XKLD_DATABASE_URL (tệp DuckDB chỉ cho một tiến trình ghi); lịch gửi thông báo không chạy." >&2
  fi
fi
exec .venv/bin/python serve.py "$@"  # serve.py: app.py plus the session-cookie routes, started by itself (xkld_geo/server/listener.py)
