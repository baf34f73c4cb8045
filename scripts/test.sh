#!/usr/bin/env bash
# Set up the environment, make sure Chromium is there for the browser tests, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if browser=$(bash scripts/ensure_browser.sh); then
  export XKLD_CHROMIUM="$browser"
fi
exec .venv/bin/python -m pytest "$@"
