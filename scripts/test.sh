#!/usr/bin/env bash
# The test suite. Two targets:
#   bash scripts/test.sh          the whole suite, as CI runs it: set-up, Chromium/LibreOffice/PostgreSQL
#                                 when missing, ruff, mypy, the manual's strict build, then every test
#   bash scripts/test.sh --fast   the daily loop: unit and page (AppTest) tests in parallel on every core
#                                 (pytest-xdist), without the browser, cluster and real-data tests
# Further arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${1:-}" = "--fast" ]; then
  shift
  exec .venv/bin/python -m pytest -n auto -q -m "not browser and not postgres and not real_data" -p no:cacheprovider "$@"
fi
if browser=$(bash scripts/ensure_browser.sh); then
  export XKLD_CHROMIUM="$browser"
fi
bash scripts/ensure_office.sh >/dev/null || true   # the report's PDF (tests skip without it, fail under CI=true)
bash scripts/ensure_postgres.sh >/dev/null || true  # PostgreSQL + nginx: tests/test_postgres.py (skip without, fail under CI=true)
echo "ruff (lint) ..." >&2
.venv/bin/python -m ruff check xkld_geo pages app.py tests bench
echo "mypy (types) ..." >&2
.venv/bin/python -m mypy
echo "mkdocs (the manual, strict) ..." >&2
.venv/bin/python -m mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
exec .venv/bin/python -m pytest "$@"
