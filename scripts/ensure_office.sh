#!/usr/bin/env bash
# Make sure LibreOffice's Writer (headless) is present, for the PDF of the periodic report; install
# Debian's libreoffice-writer-nogui with apt when we can. Prints the soffice path on success.
# Never downloads anything but Debian packages. Without it the app still writes the DOCX.
set -uo pipefail
for candidate in "${XKLD_SOFFICE:-}" /usr/bin/soffice /usr/bin/libreoffice; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="unavailable"; fi
  fi
  if [ "$SUDO" != "unavailable" ]; then
    echo "Cài LibreOffice Writer (không giao diện) từ kho Debian..." >&2
    $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      libreoffice-writer-nogui fonts-liberation >&2
  fi
fi
if [ -x /usr/bin/soffice ]; then echo /usr/bin/soffice; exit 0; fi
echo "Không có LibreOffice; báo cáo chỉ xuất DOCX (kiểm thử PDF bị bỏ qua, hoặc thất bại khi CI=true)." >&2
exit 1
