#!/usr/bin/env bash
# Set up the environment, build the database if missing or stale, and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m xkld_geo build
.venv/bin/python -m xkld_geo users bootstrap
exec .venv/bin/python serve.py "$@"  # serve.py: app.py plus the session-cookie routes, started by itself (xkld_geo/ui/listener.py)
