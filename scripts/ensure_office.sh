#!/usr/bin/env bash
# Make sure LibreOffice's Writer (headless) is present, for the PDF of the periodic report; install
# Debian's libreoffice-writer-nogui with apt when we can. Prints the soffice path on success.
# Never downloads anything but Debian packages. Without it the app still writes the DOCX.
set -uo pipefail
. "$(dirname "$0")/debian.sh"
# pdftotext reads the rendered report back in the tests (no word broken inside a table cell)
[ -x /usr/bin/pdftotext ] || debian_install poppler-utils >&2
for candidate in "${XKLD_SOFFICE:-}" /usr/bin/soffice /usr/bin/libreoffice; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "Cài LibreOffice Writer (không giao diện) từ kho Debian..." >&2
debian_install libreoffice-writer-nogui fonts-liberation
if [ -x /usr/bin/soffice ]; then echo /usr/bin/soffice; exit 0; fi
echo "Không có LibreOffice; báo cáo chỉ xuất DOCX (kiểm thử PDF bị bỏ qua, hoặc thất bại khi CI=true)." >&2
exit 1
