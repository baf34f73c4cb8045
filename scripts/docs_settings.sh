#!/usr/bin/env bash
# Regenerate the settings table of docs/settings.md from xkld_geo/settings.py (a test checks they agree).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python - <<'PY'
import re, subprocess, sys
from pathlib import Path
table = subprocess.run([sys.executable, "-m", "xkld_geo", "settings", "--markdown"], check=True,
                       capture_output=True, text=True).stdout.strip()
page = Path("docs/settings.md")
text = re.sub(r"<!-- settings:begin -->\n.*\n<!-- settings:end -->",
              lambda _: f"<!-- settings:begin -->\n{table}\n<!-- settings:end -->", page.read_text(encoding="utf-8"),
              flags=re.S)
page.write_text(text, encoding="utf-8")
PY
