#!/usr/bin/env bash
# Set up the environment, make sure Chromium is there for the browser tests, lint and type-check,
# then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if browser=$(bash scripts/ensure_browser.sh); then
  export XKLD_CHROMIUM="$browser"
fi
bash scripts/ensure_office.sh >/dev/null || true   # the report's PDF (tests skip without it, fail under CI=true)
bash scripts/ensure_postgres.sh >/dev/null || true  # PostgreSQL + nginx: tests/test_postgres.py (skip without, fail under CI=true)
echo "ruff (lint) ..." >&2
.venv/bin/python -m ruff check xkld_geo pages app.py tests bench
echo "mypy (types) ..." >&2
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
