#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server and nginx are present, for the shared-store cluster
# (scripts/cluster.sh), the several-host layout (scripts/hosts.sh: iproute2, openssl) and their tests;
# install postgresql, nginx-core, iproute2 and openssl with apt when we can.
# Prints two lines on success: the PostgreSQL bin folder (initdb, pg_ctl), then the nginx path.
# Never downloads anything but Debian packages.
set -uo pipefail
find_pg() {
  local dir
  for dir in "${XKLD_PG_BIN:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 1
}
find_nginx() {
  local candidate
  for candidate in "${XKLD_NGINX:-}" /usr/sbin/nginx $(command -v nginx 2>/dev/null); do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! find_pg >/dev/null || ! find_nginx >/dev/null || ! command -v ip >/dev/null 2>&1 || \
   ! command -v openssl >/dev/null 2>&1; then
  . "$(dirname "$0")/debian.sh"
  echo "Cài PostgreSQL, nginx, iproute2 và openssl từ kho Debian..." >&2
  debian_install postgresql nginx-core iproute2 openssl
fi
pg=$(find_pg) || { echo "Không có PostgreSQL (initdb, pg_ctl); kiểm thử cụm bị bỏ qua, hoặc thất bại khi CI=true." >&2; exit 1; }
nginx=$(find_nginx) || { echo "Không có nginx; kiểm thử cụm bị bỏ qua, hoặc thất bại khi CI=true." >&2; exit 1; }
echo "$pg"
echo "$nginx"
