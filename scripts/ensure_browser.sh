#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the browser tests; install it with apt when we can.
# Prints the browser path on success. Never downloads a browser build from anywhere else.
set -uo pipefail
for candidate in "${XKLD_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="unavailable"; fi
  fi
  if [ "$SUDO" != "unavailable" ]; then
    echo "Cài Chromium từ kho Debian..." >&2
    $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-core >&2
  fi
fi
if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; exit 0; fi
echo "Không có Chromium; các kiểm thử trên trình duyệt sẽ bị bỏ qua (hoặc thất bại khi CI=true)." >&2
exit 1
