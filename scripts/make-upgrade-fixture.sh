#!/usr/bin/env bash
# Make the upgrade test's fixtures from a previous release: its state database (SQLite and
# PostgreSQL), created by that release's own `agentdeck migrate` and filled through its own
# CLI and HTTP API, dumped as SQL into tests/upgrade/fixtures/NAME.{sqlite,postgresql}.sql,
# with what the test checks (plaintext keys, ids) in NAME.{sqlite,postgresql}.json.
#
#   scripts/make-upgrade-fixture.sh v0.2.0          # from the tag
#   scripts/make-upgrade-fixture.sh v0.1.0 0fb503f  # name, then the commit it was made from
#
# The release is checked out with `git worktree` in a temporary directory (removed after).
# PostgreSQL: a scratch database on AGENTDECK_FIXTURE_PG_URL (default: the local server on
# 127.0.0.1:5432, user postgres), dropped after; pg_dump and psql are needed.
set -euo pipefail

NAME="${1:?usage: make-upgrade-fixture.sh NAME [REF]}"
REF="${2:-$NAME}"
ROOT="$(git rev-parse --show-toplevel)"
OUT="$ROOT/tests/upgrade/fixtures"
PG_URL="${AGENTDECK_FIXTURE_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
UV="${UV:-$(bash "$ROOT/scripts/ensure-uv.sh")}"
ADMIN_PASSWORD="admin password of the fixture"
SECRET="upgrade-fixture-secret-key-0123456789abcdef"  # tests/upgrade/test_upgrade.py uses it too
WORK="$(mktemp -d "${TMPDIR:-/tmp}/agentdeck-upgrade-XXXXXX")"
PG_DB="agentdeck_fixture_$$"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" || true; fi
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  git -C "$ROOT" worktree remove --force "$WORK/src" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git -C "$ROOT" worktree add --quiet --detach "$WORK/src" "$REF"
COMMIT="$(git -C "$WORK/src" rev-parse HEAD)"
# the release's own dependencies, from its lock file; its version as it was built then
(cd "$WORK/src" && UV_PROJECT_ENVIRONMENT="$WORK/venv" SETUPTOOLS_SCM_PRETEND_VERSION="${NAME#v}" \
  "$UV" sync --quiet --frozen --no-dev)
BIN="$WORK/venv/bin"

free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

make_one() {  # $1: sqlite|postgresql, $2: database URL (SQLAlchemy)
  local kind="$1" url="$2" data="$WORK/data-$1" port
  mkdir -p "$data"
  export AGENTDECK_ENV_FILE=/dev/null AGENTDECK_ENVIRONMENT=development AGENTDECK_LOG_LEVEL=WARNING
  export AGENTDECK_SECRET_KEY="$SECRET" AGENTDECK_DATA_DIR="$data" AGENTDECK_DATABASE__URL="$url"
  export AGENTDECK_RATE_LIMIT__ENABLED=false AGENTDECK_LOOPS__ENABLED=false
  "$BIN/agentdeck" migrate >/dev/null
  "$BIN/agentdeck" user create admin --email admin@example.test --password "$ADMIN_PASSWORD" \
    --admin >/dev/null
  port="$(free_port)"
  "$BIN/agentdeck" serve --host 127.0.0.1 --port "$port" >"$WORK/serve-$kind.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do  # a readiness probe, up to a minute
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve-$kind.log"; exit 1; }
    sleep 0.1
  done
  "$BIN/python" "$ROOT/tests/upgrade/populate.py" "http://127.0.0.1:$port" "$ADMIN_PASSWORD" \
    "$WORK/facts.json"
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
  "$BIN/python" - "$WORK/facts.json" "$OUT/$NAME.$kind.json" "$NAME" "$COMMIT" <<'PY'
import json, sys
facts = json.load(open(sys.argv[1]))
facts.update(release=sys.argv[3], commit=sys.argv[4])
with open(sys.argv[2], "w") as out:
    json.dump(facts, out, indent=2, sort_keys=True)
    out.write("\n")
PY
}

mkdir -p "$OUT"
make_one sqlite "sqlite+aiosqlite:///$WORK/state.db"
sqlite3 "$WORK/state.db" .dump >"$OUT/$NAME.sqlite.sql"

psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
PG_DB_URL="${PG_URL%/*}/$PG_DB"
make_one postgresql "${PG_DB_URL/postgresql:/postgresql+asyncpg:}"
pg_dump --no-owner --no-privileges --no-comments --inserts "$PG_DB_URL" \
  | grep -v '^\\' >"$OUT/$NAME.postgresql.sql"  # no psql meta-commands: loadable by any client

echo "fixtures of $NAME ($COMMIT) written to $OUT"
