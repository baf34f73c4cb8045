#!/usr/bin/env bash
# Serve a static open-data release (python -m xkld_geo publish) on this machine's loopback.
#
#   scripts/serve_public.sh DIR [PORT]      e.g. scripts/serve_public.sh data/public_release/latest 8080
#
# With Debian's nginx installed (apt-get install nginx), nginx serves it from a configuration
# generated in a temporary folder: 127.0.0.1 only, gzip on (the release's precompressed .gz files
# first), long cache for the never-rewritten
# releases/ folders and the assets, short cache for pages. Without nginx (or with
# XKLD_SERVE_PYTHON=1), Python's http.server serves it, bound to 127.0.0.1. To publish to the
# internet, put a public web server or CDN in front of the folder; the internal app stays internal.
set -euo pipefail
DIR=${1:?"usage: scripts/serve_public.sh DIR [PORT]"}
PORT=${2:-8080}
ROOT=$(cd "$DIR" && pwd)
if [ ! -f "$ROOT/index.html" ]; then
  echo "Lỗi: $ROOT không có index.html (cần thư mục một bản phát hành, ví dụ data/public_release/latest)." >&2
  exit 2
fi
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$NGINX" ] || [ -n "${XKLD_SERVE_PYTHON:-}" ]; then
  echo "python http.server: http://127.0.0.1:$PORT/ ($ROOT)"
  exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$ROOT"
fi
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && ! runuser -u nobody -- test -r "$ROOT/index.html"; then
  # nginx started as root serves with its workers as 'nobody', which must be able to read the folder
  echo "Lỗi: người dùng 'nobody' (tiến trình nginx) không đọc được $ROOT; chạy: chmod -R a+rX <thư mục cha>," \
       "hoặc dùng XKLD_SERVE_PYTHON=1." >&2
  exit 2
fi
CONF=$(mktemp -d)
chmod 755 "$CONF"
trap 'rm -rf "$CONF"' EXIT
mkdir -p "$CONF/logs" "$CONF/tmp"
MIME=/etc/nginx/mime.types
cat > "$CONF/nginx.conf" <<CONFIG
daemon off;
worker_processes auto;
pid $CONF/nginx.pid;
error_log $CONF/logs/error.log warn;
events { worker_connections 1024; }
http {
  include $MIME;
  types { application/geo+json geojson; text/markdown md; text/csv csv; }
  default_type application/octet-stream;
  charset utf-8;
  charset_types text/css text/csv text/markdown application/javascript application/json application/geo+json;
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 30;
  keepalive_requests 100000;
  client_body_temp_path $CONF/tmp/body;
  proxy_temp_path $CONF/tmp/proxy;
  fastcgi_temp_path $CONF/tmp/fastcgi;
  uwsgi_temp_path $CONF/tmp/uwsgi;
  scgi_temp_path $CONF/tmp/scgi;
  gzip_static on;
  gzip on;
  gzip_comp_level 6;
  gzip_min_length 256;
  gzip_vary on;
  gzip_types text/css text/csv text/markdown application/javascript application/json application/geo+json image/svg+xml;
  server {
    listen 127.0.0.1:$PORT;
    root $ROOT;
    index index.html;
    add_header X-Content-Type-Options nosniff always;
    location ^~ /releases/ { expires 365d; add_header X-Content-Type-Options nosniff always; }
    location ~* \.(?:js|css|png)\$ { expires 30d; add_header X-Content-Type-Options nosniff always; }
    location / { expires 5m; try_files \$uri \$uri/ =404; }
  }
}
CONFIG
"$NGINX" -t -q -c "$CONF/nginx.conf" -p "$CONF" 2>&1 | grep -v "could not open error log file" >&2 || true
echo "nginx: http://127.0.0.1:$PORT/ ($ROOT)"
"$NGINX" -c "$CONF/nginx.conf" -p "$CONF" -e "$CONF/logs/error.log" &
NGINX_PID=$!
trap 'kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; rm -rf "$CONF"' EXIT INT TERM
wait "$NGINX_PID"
