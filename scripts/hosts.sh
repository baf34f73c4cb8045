#!/usr/bin/env bash
# The several-machine layout, run for real on one machine: four hosts in their own network namespaces
# on a private link (a bridge, 10.77.0.0/24), talking over it as they would over a LAN:
#   xkld-db   10.77.0.10  PostgreSQL: TLS only (a certificate made here), scram-sha-256, its own address
#   xkld-app1 10.77.0.11  replica r1 (python serve.py on :8501)
#   xkld-app2 10.77.0.12  replica r2
#   xkld-lb   10.77.0.13  nginx on :8080, sticky by cookie, the replicas trust it as their proxy
# The replicas reach PostgreSQL with sslmode=verify-full against the certificate's authority. The
# database password is made here, handed to PostgreSQL and to the replicas' processes (their
# environment), and no file holds it after start-up. Needs root (namespaces) and Debian's
# postgresql, nginx and iproute2 (installed when missing and apt can).
#
#   scripts/hosts.sh start     start everything (state in $XKLD_HOSTS_DIR, default /tmp/xkld-hosts)
#   scripts/hosts.sh stop      stop everything, delete the namespaces, the link and the state
#   scripts/hosts.sh status    print the state file
#   scripts/hosts.sh psql ...  psql on the database host as its operator (peer authentication, no password)
# Every XKLD_* setting of the app (XKLD_DATA_DIR, XKLD_TODAY, ...) is passed to the replicas as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${XKLD_HOSTS_DIR:-/tmp/xkld-hosts}
STATE="$DIR/hosts.env"
PY="$ROOT/.venv/bin/python"
NET=10.77.0
BRIDGE=xkld-br0
HOSTS="db:10 app1:11 app2:12 lb:13"

[ "$(id -u)" = "0" ] || { echo "scripts/hosts.sh cần quyền root (không gian mạng)." >&2; exit 1; }

tools() {
  if ! command -v ip >/dev/null; then
    . "$ROOT/scripts/debian.sh"
    debian_install iproute2
  fi
  local found
  found=$(bash "$ROOT/scripts/ensure_postgres.sh") || exit 1
  PG_BIN=$(echo "$found" | sed -n 1p)
  NGINX=$(echo "$found" | sed -n 2p)
}

in_ns() { local ns=$1; shift; ip netns exec "xkld-$ns" "$@"; }

wait_http() {   # wait_http NS URL SECONDS
  local i
  for i in $(seq 1 "$3"); do
    if in_ns "$1" "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$2" \
        2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "Không chờ được $2" >&2
  return 1
}

network_up() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local entry name n
  for entry in $HOSTS; do
    name=${entry%%:*}; n=${entry##*:}
    ip netns add "xkld-$name"
    ip link add "xk-$name" type veth peer name "xk-$name-h"
    ip link set "xk-$name" netns "xkld-$name"
    ip link set "xk-$name-h" master "$BRIDGE" up
    in_ns "$name" ip addr add "$NET.$n/24" dev "xk-$name"
    in_ns "$name" ip link set "xk-$name" up
    in_ns "$name" ip link set lo up
  done
}

network_down() {
  local entry name
  for entry in $HOSTS; do
    name=${entry%%:*}
    ip netns pids "xkld-$name" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 1
  for entry in $HOSTS; do
    name=${entry%%:*}
    ip netns pids "xkld-$name" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "xkld-$name" 2>/dev/null || true
    ip link del "xk-$name-h" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

certificates() {   # a certificate authority and PostgreSQL's server certificate for 10.77.0.10
  local tls="$RUN/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=XKLD test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$NET.10" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s.10\n' "$NET" >"$tls/san.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
    -extfile "$tls/san.ext" -out "$tls/server.crt" 2>/dev/null
  rm -f "$tls/ca.key" "$tls/server.csr" "$tls/san.ext" "$tls/ca.srl"   # the authority signs nothing more
  chown postgres "$tls/server.key" "$tls/server.crt"
  chmod 600 "$tls/server.key"
}

database_up() {
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  local data="$RUN/pg/data" pw="$RUN/pg/pw"
  mkdir -p "$RUN/pg"
  chown postgres "$RUN/pg"
  ( umask 077; printf '%s\n' "$PASSWORD" >"$pw" )
  chown postgres "$pw"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U xkld --pwfile="$pw" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 --no-locale -E UTF8 >"$RUN/pg/initdb.log"
  rm -f "$pw"                                   # the password lives in PostgreSQL (as a scram verifier) now
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '$NET.10'
unix_socket_directories = '$RUN/pg'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$RUN/tls/server.crt'
ssl_key_file = '$RUN/tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
EOF
  cat >"$data/pg_hba.conf" <<EOF
# Made by scripts/hosts.sh: over the network, TLS and scram only, from the private link only; on the
# database host itself, its operator (the OS user postgres) through the socket, by peer.
local   all   xkld                   peer map=operators
hostssl xkld  xkld  $NET.0/24        scram-sha-256
host    all   all   0.0.0.0/0        reject
EOF
  echo "operators postgres xkld" >>"$data/pg_ident.conf"
  in_ns db runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$RUN/pg/log" -w -t 60 start >&2
  in_ns db runuser -u postgres -- "$PG_BIN/createdb" -h "$RUN/pg" -U xkld xkld   # the operator, by peer
}

replica_up() {   # replica_up NAME N
  local name=$1 n=$2
  mkdir -p "$DIR/$name"
  XKLD_DB="$DIR/$name/xkld.duckdb" "$PY" -m xkld_geo build >&2
  if [ "$n" = 11 ]; then   # the first replica makes (and seeds) the shared schema; the first admin
    ( umask 077; PGPASSWORD="$PASSWORD" XKLD_DATABASE_URL="$URL" XKLD_DB="$DIR/$name/xkld.duckdb" \
        in_ns "$name" "$PY" -m xkld_geo users bootstrap >"$DIR/admin.txt" )
  fi
  PGPASSWORD="$PASSWORD" XKLD_DATABASE_URL="$URL" XKLD_DB="$DIR/$name/xkld.duckdb" XKLD_REPLICA_NAME="$name" \
    XKLD_TRUSTED_PROXIES="$NET.13" \
    setsid nohup ip netns exec "xkld-$name" "$PY" serve.py --server.port 8501 --server.address "$NET.$n" \
    --server.headless true --browser.gatherUsageStats false >"$DIR/$name/app.log" 2>&1 &
  echo "${name^^}_PID=$!" >>"$STATE"
}

proxy_up() {
  mkdir -p "$DIR/lb"
  cat >"$DIR/lb/nginx.conf" <<EOF
# Made by scripts/hosts.sh: the site of scripts/deploy/nginx/xkld.conf, on the private link, without TLS.
worker_processes 1;
pid $DIR/lb/nginx.pid;
error_log $DIR/lb/error.log;
events { worker_connections 512; }
http {
    access_log $DIR/lb/access.log;
    client_body_temp_path $DIR/lb/body; proxy_temp_path $DIR/lb/proxy; fastcgi_temp_path $DIR/lb/fastcgi;
    uwsgi_temp_path $DIR/lb/uwsgi; scgi_temp_path $DIR/lb/scgi;
    client_max_body_size 60m;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream xkld_app1 { server $NET.11:8501 max_fails=1 fail_timeout=10s; server $NET.12:8501 backup; }
    upstream xkld_app2 { server $NET.12:8501 max_fails=1 fail_timeout=10s; server $NET.11:8501 backup; }
    upstream xkld_any { server $NET.11:8501 max_fails=1 fail_timeout=10s; server $NET.12:8501 max_fails=1 fail_timeout=10s; }
    map \$cookie_xkld_replica \$xkld_pool { default xkld_any; app1 xkld_app1; app2 xkld_app2; }
    map \$upstream_addr \$xkld_served { default ""; $NET.11:8501 app1; $NET.12:8501 app2; }
    server {
        listen $NET.13:8080;
        location / {
            include $ROOT/scripts/deploy/nginx/xkld-proxy.conf;
            add_header Set-Cookie "xkld_replica=\$xkld_served; Path=/; HttpOnly; SameSite=Lax" always;
        }
    }
}
EOF
  in_ns lb "$NGINX" -p "$DIR/lb" -c "$DIR/lb/nginx.conf" -e "$DIR/lb/error.log"
}

start() {
  if [ -f "$STATE" ]; then echo "Đã chạy ($STATE); hãy dừng trước: scripts/hosts.sh stop" >&2; exit 1; fi
  tools
  mkdir -p "$DIR"
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/xkld-hosts.XXXXXX")   # PostgreSQL's own folder: its user can enter it
  chmod 755 "$RUN"
  PASSWORD=$("$PY" -c "import secrets; print(secrets.token_urlsafe(24))")
  URL="postgresql://xkld@$NET.10:5432/xkld?sslmode=verify-full&sslrootcert=$RUN/tls/ca.crt"
  cat >"$STATE" <<EOF
RUN=$RUN
PG_BIN=$PG_BIN
NGINX=$NGINX
URL='$URL'
LB=http://$NET.13:8080
APP1=http://$NET.11:8501
APP2=http://$NET.12:8501
DB=$NET.10
EOF
  network_up
  certificates
  database_up
  replica_up app1 11
  replica_up app2 12
  proxy_up
  wait_http app1 "http://$NET.11:8501/xkld/health" 120
  wait_http app2 "http://$NET.12:8501/xkld/health" 120
  wait_http lb "http://$NET.13:8080/xkld/health" 30
  echo "Bốn máy đã chạy: nginx http://$NET.13:8080, bản sao $NET.11 và $NET.12, PostgreSQL $NET.10 (TLS, scram)."
  echo "Tài khoản quản trị đầu tiên: $DIR/admin.txt (chỉ chủ sở hữu đọc được; xóa khi dừng)."
}

stop() {
  [ -f "$STATE" ] || { echo "Chưa chạy (không có $STATE)." >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$STATE"
  if [ -f "$DIR/lb/nginx.pid" ]; then kill "$(cat "$DIR/lb/nginx.pid")" 2>/dev/null || true; fi
  if [ -d "$RUN/pg/data" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN/pg/data" -m fast -w -t 60 stop >&2 || true
  fi
  network_down
  rm -rf "$DIR" "$RUN"
  echo "Đã dừng các máy." >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) cat "$STATE" ;;
  psql) shift; . "$STATE"; in_ns db runuser -u postgres -- "$PG_BIN/psql" -h "$RUN/pg" -U xkld -d xkld "$@" ;;
  *) echo "Dùng: scripts/hosts.sh start|stop|status|psql ..." >&2; exit 2 ;;
esac
