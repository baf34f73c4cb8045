#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the browser tests; install it with apt when we can.
# Prints the browser path on success. Never downloads a browser build from anywhere else.
set -uo pipefail
for candidate in "${XKLD_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
. "$(dirname "$0")/debian.sh"
echo "Cài Chromium từ kho Debian..." >&2
debian_install chromium fonts-noto-core
if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; exit 0; fi
echo "Không có Chromium; các kiểm thử trên trình duyệt sẽ bị bỏ qua (hoặc thất bại khi CI=true)." >&2
exit 1
