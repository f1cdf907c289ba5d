#!/usr/bin/env bash
# Installs the system components the tests drive (Debian packages) when missing.
# Under CI=true a component that cannot be installed is an error, never a skip.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -x /usr/bin/faketime ] || need+=(faketime)
[ -x /usr/bin/docker-compose ] || need+=(docker-compose)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "missing Debian packages (${need[*]}) and not root: install them and rerun" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  # The tests start their own Prometheus on free ports; the package's service must not run.
  if [[ " ${need[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1 \
    && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >&2 || true
  fi
  # The deployment tests run nginx -t (and the scale-out tests their own nginx); not the service.
  if [[ " ${need[*]} " == *" nginx-light "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now nginx.service >&2 || true
    else
      nginx -s quit >/dev/null 2>&1 || true
    fi
  fi
  # The log store tests start their own ClickHouse from a scratch config; not the service.
  if [[ " ${need[*]} " == *" clickhouse-server "* ]] && command -v systemctl >/dev/null 2>&1 \
    && [ -d /run/systemd/system ]; then
    systemctl disable --now clickhouse-server.service >&2 || true
  fi
fi

# The real PostgreSQL and Redis the tests use.
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
if command -v redis-cli >/dev/null 2>&1; then
  [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ] || {
    echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
fi
