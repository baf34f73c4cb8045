#!/usr/bin/env bash
# A dump of the shared store (custom format, mode 600) into XKLD_PG_BACKUP_DIR, keeping the newest
# XKLD_PG_BACKUP_KEEP. Connection settings come from libpq's variables (PGHOST, PGPORT, PGUSER,
# PGDATABASE) and the password from PGPASSFILE (a systemd credential). Restore with
#   createdb xkld_restored && pg_restore --no-owner --exit-on-error -d xkld_restored FILE
set -euo pipefail
dir=${XKLD_PG_BACKUP_DIR:-/var/backups/xkld}
keep=${XKLD_PG_BACKUP_KEEP:-14}
mkdir -p "$dir"
out="$dir/xkld-$(date +%Y%m%d-%H%M%S).dump"
( umask 077; pg_dump -Fc -f "$out.partial" )
mv "$out.partial" "$out"
ls -1 "$dir"/xkld-*.dump | sort | head -n "-$keep" | xargs -r rm -f
rm -f "$dir"/*.partial
echo "$out"
