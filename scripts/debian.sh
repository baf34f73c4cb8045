#!/usr/bin/env bash
# Sourced by the ensure_*.sh scripts: install Debian packages with apt, as root or through a
# password-less sudo, and do nothing where neither is possible (the caller reports what is missing).
# Only Debian's archive is contacted.
debian_install() {
  command -v apt-get >/dev/null 2>&1 || return 0
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 0; fi
  fi
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}
