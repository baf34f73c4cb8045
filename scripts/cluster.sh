#!/usr/bin/env bash
# A runnable cluster on one machine, all on loopback (issue #19):
#   a throwaway PostgreSQL (Debian's server binaries, a temporary folder, an unprivileged user),
#   two app replicas (python serve.py) on two ports, each with its own local reference file,
#   nginx in front with sticky sessions (a cookie naming the replica; see docs/replicas.md).
#
#   scripts/cluster.sh start        start everything, print the addresses (state in $XKLD_CLUSTER_DIR)
#   scripts/cluster.sh stop         stop everything and delete the throwaway database
#   scripts/cluster.sh status       print the state file
#   scripts/cluster.sh restart r1   stop replica r1 and start it again (nginx serves its sessions meanwhile)
#   scripts/cluster.sh backup [FILE]            pg_dump of the shared store (default $XKLD_CLUSTER_DIR/backups/)
#   scripts/cluster.sh restore FILE [DB]        that dump into a new database DB (default xkld_restored)
#   scripts/cluster.sh upgrade      rolling upgrade: each replica drained, rebuilt, restarted, put back
#   scripts/cluster.sh kill r1      kill replica r1 (SIGKILL; a failover drill); `restart r1` brings it back
#   scripts/cluster.sh pg-stop | pg-start | pg-restart   PostgreSQL alone (fault drills, tests)
#
# Settings (environment): XKLD_CLUSTER_DIR (default /tmp/xkld-cluster), XKLD_CLUSTER_PG_PORT (55432),
# XKLD_CLUSTER_PORTS ("8601 8602"), XKLD_CLUSTER_LB_PORT (8600); every XKLD_* setting of the app
# (XKLD_DATA_DIR, XKLD_TODAY, XKLD_ID_KEY...) is passed to the replicas as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${XKLD_CLUSTER_DIR:-/tmp/xkld-cluster}
STATE="$DIR/cluster.env"
PY="$ROOT/.venv/bin/python"

as_owner() {   # run a command as the unprivileged owner of the throwaway cluster
  if [ "$(id -u)" = "0" ]; then runuser -u "$OWNER" -- "$@"; else "$@"; fi
}

load_state() {
  [ -f "$STATE" ] || { echo "Cụm chưa chạy (không có $STATE)." >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$STATE"
}

pg_start() {
  as_owner "$PG_BIN/pg_ctl" -D "$RUN/pg/data" -l "$RUN/pg/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$RUN/pg" start >&2
}

pg_stop() {
  as_owner "$PG_BIN/pg_ctl" -D "$RUN/pg/data" -m fast -w -t 60 stop >&2 || true
}

wait_http() {   # wait_http URL SECONDS
  local i
  for i in $(seq 1 "$2"); do
    if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "Không chờ được $1" >&2
  return 1
}

start() {
  if [ -f "$STATE" ]; then echo "Cụm đã chạy ($STATE); hãy dừng trước: scripts/cluster.sh stop" >&2; exit 1; fi
  local found
  found=$(bash scripts/ensure_postgres.sh) || exit 1
  PG_BIN=$(echo "$found" | sed -n 1p)
  NGINX=$(echo "$found" | sed -n 2p)
  PG_PORT=${XKLD_CLUSTER_PG_PORT:-55432}
  PORTS=${XKLD_CLUSTER_PORTS:-"8601 8602"}
  LB_PORT=${XKLD_CLUSTER_LB_PORT:-8600}
  OWNER=$(id -un)
  if [ "$(id -u)" = "0" ]; then   # initdb refuses root: the cluster belongs to an unprivileged user
    OWNER=postgres
    id -u "$OWNER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
  fi
  mkdir -p "$DIR"
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/xkld-cluster.XXXXXX")   # its own folder: the owner can enter it
  chmod 755 "$RUN"
  mkdir -p "$RUN/pg" "$RUN/nginx"
  [ "$(id -u)" = "0" ] && chown -R "$OWNER" "$RUN"
  URL="postgresql://xkld@127.0.0.1:$PG_PORT/xkld"
  cat >"$STATE" <<EOF
PG_BIN=$PG_BIN
NGINX=$NGINX
PG_PORT=$PG_PORT
PORTS="$PORTS"
LB_PORT=$LB_PORT
OWNER=$OWNER
RUN=$RUN
URL=$URL
EOF
  echo "PostgreSQL: khởi tạo cụm tạm trong $RUN/pg ..." >&2
  as_owner "$PG_BIN/initdb" -D "$RUN/pg/data" -A trust -U xkld --no-locale -E UTF8 >"$RUN/pg/initdb.log"
  pg_start
  as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U xkld xkld

  local n=0 port
  for port in $PORTS; do
    n=$((n + 1))
    mkdir -p "$DIR/replica-$n"
    echo "Bản sao r$n: dữ liệu tham chiếu cục bộ ..." >&2
    XKLD_DB="$DIR/replica-$n/xkld.duckdb" "$PY" -m xkld_geo build >&2
  done
  # the first replica's settings make (and seed) the shared schema; the others find it done
  # the first administrator's password: readable by its owner only, deleted by `stop`
  ( umask 077; XKLD_DATABASE_URL="$URL" XKLD_DB="$DIR/replica-1/xkld.duckdb" "$PY" -m xkld_geo users bootstrap \
      >"$DIR/admin.txt" )
  export -p | grep -E '^declare -x XKLD_' | grep -v '^declare -x XKLD_CLUSTER_' >"$DIR/replica.env" || true
  chmod 600 "$DIR/replica.env"
  n=0
  for port in $PORTS; do
    n=$((n + 1))
    start_replica "$n" "$port"
  done
  write_nginx_conf
  "$NGINX" -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log"
  for port in $PORTS; do wait_http "http://127.0.0.1:$port/xkld/health" 120; done
  wait_http "http://127.0.0.1:$LB_PORT/xkld/health" 30
  echo "Cụm đã chạy: http://127.0.0.1:$LB_PORT (nginx) trước các bản sao $(echo "$PORTS" | sed 's/ /, /g');"
  echo "PostgreSQL $URL; tài khoản quản trị đầu tiên: $DIR/admin.txt (chỉ chủ sở hữu đọc được; xóa khi dừng cụm)"
}

start_replica() {   # start_replica N PORT: replica rN on PORT, its PID recorded in the state file
  local n=$1 port=$2
  XKLD_DATABASE_URL="$URL" XKLD_DB="$DIR/replica-$n/xkld.duckdb" XKLD_REPLICA_NAME="r$n" \
    XKLD_TRUSTED_PROXIES="${XKLD_TRUSTED_PROXIES:-127.0.0.1}" \
    setsid nohup "$PY" serve.py --server.port "$port" --server.address 127.0.0.1 \
    --server.headless true --browser.gatherUsageStats false >>"$DIR/replica-$n/app.log" 2>&1 &
  sed -i "/^REPLICA_${n}_PID=/d" "$STATE"
  echo "REPLICA_${n}_PID=$!" >>"$STATE"
}

replica_port() {   # replica_port N: the port of replica rN
  echo "$PORTS" | tr ' ' '\n' | sed -n "${1}p"
}

kill_replica() {   # kill_replica N [SIGNAL]: stop replica rN's process group
  local var="REPLICA_${1}_PID" pid
  pid=${!var:-}
  [ -n "$pid" ] || { echo "Không có bản sao r$1." >&2; exit 2; }
  kill "-${2:-TERM}" -- "-$pid" 2>/dev/null || kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

backup() {   # backup [FILE]: a consistent dump of the shared store (pg_dump, custom format, mode 600)
  load_state
  local out=${1:-$DIR/backups/xkld-$(date +%Y%m%d-%H%M%S).dump}
  mkdir -p "$(dirname "$out")"
  ( umask 077; "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U xkld -Fc -f "$out.partial" xkld )
  mv "$out.partial" "$out"
  echo "$out"
}

restore() {   # restore FILE [DB]: the dump into a new database DB (default xkld_restored) on the cluster's
              # server, its URL printed; point XKLD_DATABASE_URL at it (or restore as xkld, replicas stopped)
  load_state
  local file=${1:?Dùng: scripts/cluster.sh restore FILE [DB]} name=${2:-xkld_restored}
  [ -f "$file" ] || { echo "Không có tệp sao lưu $file." >&2; exit 2; }
  "$PG_BIN/dropdb" --if-exists -h 127.0.0.1 -p "$PG_PORT" -U xkld "$name"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U xkld "$name"
  "$PG_BIN/pg_restore" -h 127.0.0.1 -p "$PG_PORT" -U xkld -d "$name" --no-owner --exit-on-error "$file"
  echo "postgresql://xkld@127.0.0.1:$PG_PORT/$name"
}

replica_settings() {   # the replicas' settings as they were started, then any XKLD_* given to this command on top
  local given
  given=$(export -p | grep -E '^declare -x XKLD_' || true)
  # global (-g): `declare` inside a function would make them local to it
  # shellcheck disable=SC1090
  [ -f "$DIR/replica.env" ] && . <(sed 's/^declare -x /declare -gx /' "$DIR/replica.env")
  eval "${given//declare -x /declare -gx }"
}

reload_nginx() {
  "$NGINX" -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log" -s reload
  sleep 1   # the old workers finish their requests; new ones read the new configuration
}

upgrade() {   # a rolling upgrade: each replica in turn drained, stopped, its local file rebuilt
              # (and the store migrated) by the code now in the folder, started, put back
  load_state
  local n=0 port
  for port in $PORTS; do
    n=$((n + 1))
    echo "Bản sao r$n: ngừng nhận phiên mới ..." >&2
    write_nginx_conf "$n"
    reload_nginx
    kill_replica "$n"
    XKLD_DATABASE_URL="$URL" XKLD_DB="$DIR/replica-$n/xkld.duckdb" "$PY" -m xkld_geo build >&2
    replica_settings
    start_replica "$n" "$port"
    wait_http "http://127.0.0.1:$port/xkld/health" 120
    write_nginx_conf
    reload_nginx
    echo "Bản sao r$n: đã nâng cấp và nhận phiên trở lại." >&2
  done
}

restart_replica() {   # restart_replica N: stop rN and start it again on its port; nginx sends its
                      # sessions to the other replica (backup) meanwhile, and they keep their cookie
  load_state
  local n=${1#r} port
  port=$(replica_port "$n")
  [ -n "$port" ] || { echo "Không có bản sao r$n." >&2; exit 2; }
  kill_replica "$n"
  replica_settings
  start_replica "$n" "$port"
  wait_http "http://127.0.0.1:$port/xkld/health" 120
  echo "Đã khởi động lại bản sao r$n (cổng $port)." >&2
}

write_nginx_conf() {   # write_nginx_conf [N]: nginx's configuration; with N, replica rN drained (no new
                       # requests: its sessions go to the other replica, which they keep)
  local drained=${1:-} n=0 port upstreams="" pools="" served="" all=""
  for port in $PORTS; do
    n=$((n + 1))
    local backups="" mark=" max_fails=1 fail_timeout=10s"
    [ "$n" = "$drained" ] && mark=" down"
    for other in $PORTS; do [ "$other" = "$port" ] || backups="$backups server 127.0.0.1:$other backup;"; done
    upstreams="$upstreams    upstream xkld_r$n { server 127.0.0.1:$port$mark;$backups }"$'\n'
    pools="$pools        r$n xkld_r$n;"$'\n'
    served="$served        127.0.0.1:$port r$n;"$'\n'
    all="$all server 127.0.0.1:$port$mark;"
  done
  local user_line=""
  [ "$(id -u)" = "0" ] && user_line="user $OWNER;"
  cat >"$RUN/nginx/nginx.conf" <<EOF
# Made by scripts/cluster.sh. Sticky sessions by cookie: the first answer sets xkld_replica to the
# replica that served it; later requests (the WebSocket included) go to that replica, or to the
# other one (backup) while it is down. ip_hash would send every loopback client to one replica.
$user_line
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
events { worker_connections 512; }
http {
    access_log $RUN/nginx/access.log;
    client_body_temp_path $RUN/nginx/body;
    proxy_temp_path $RUN/nginx/proxy;
    fastcgi_temp_path $RUN/nginx/fastcgi;
    uwsgi_temp_path $RUN/nginx/uwsgi;
    scgi_temp_path $RUN/nginx/scgi;
    client_max_body_size 60m;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
$upstreams    upstream xkld_any {$all }
    map \$cookie_xkld_replica \$xkld_pool {
        default xkld_any;
$pools    }
    map \$upstream_addr \$xkld_served {
        default "";
$served    }
    server {
        listen 127.0.0.1:$LB_PORT;
        location / {
            include $ROOT/scripts/deploy/nginx/xkld-proxy.conf;
            add_header Set-Cookie "xkld_replica=\$xkld_served; Path=/; HttpOnly; SameSite=Lax" always;
        }
    }
}
EOF
}

stop() {
  load_state
  local var pid
  for var in $(grep -o '^REPLICA_[0-9]*_PID' "$STATE"); do
    pid=${!var}
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  if [ -f "$RUN/nginx/nginx.pid" ]; then kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null || true; fi
  pg_stop
  rm -rf "$RUN"
  rm -f "$STATE" "$DIR/admin.txt" "$DIR/replica.env"
  echo "Đã dừng cụm." >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) load_state; cat "$STATE" ;;
  upgrade) upgrade ;;
  backup) backup "${2:-}" ;;
  restore) restore "${2:-}" "${3:-}" ;;
  restart) restart_replica "${2:?Dùng: scripts/cluster.sh restart r1}" ;;
  kill) load_state; kill_replica "${2#r}" KILL ;;
  pg-stop) load_state; pg_stop ;;
  pg-start) load_state; pg_start ;;
  pg-restart) load_state; pg_stop; pg_start ;;
  *) echo "Dùng: scripts/cluster.sh start|stop|status|restart rN|kill rN|upgrade|backup [FILE]|restore FILE [DB]|pg-stop|pg-start|pg-restart" >&2; exit 2 ;;
esac
