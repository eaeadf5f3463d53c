#!/usr/bin/env bash
# A PostgreSQL server for the production profile on one machine, and for its integration test.
#
# Installs Debian's PostgreSQL if it is missing (unless --no-install), creates a cluster of its own
# under .postgres/ in the repository (ignored by git) the first time, starts it if it is not running,
# creates the `commonground` database, and prints its URL for COMMONGROUND_POSTGRES_URL as the last line.
# Idempotent: run it as often as you like; `make test` runs it before the tests (target `postgres`).
#
# The cluster listens on 127.0.0.1 only (port $COMMONGROUND_POSTGRES_PORT, default 54329, beside any
# system cluster on 5432) and trusts local connections: it is for this machine's daemon and tests.
# For a shared server, create a role with a password and put it in COMMONGROUND_POSTGRES_URL instead
# (deploy/production.env). It runs as the user who calls this script; as root, as Debian's `postgres`
# user (PostgreSQL refuses to run as root). Stop it with: deploy/postgres.sh --stop
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${COMMONGROUND_POSTGRES_DIR:-$REPO/.postgres}"
PORT="${COMMONGROUND_POSTGRES_PORT:-54329}"
DB=commonground
ROLE=commonground
INSTALL=1
STOP=0
for arg in "$@"; do
  case "$arg" in
    --no-install) INSTALL=0 ;;
    --stop) STOP=1 ;;
    *) echo "deploy/postgres.sh: unknown option $arg (use --no-install or --stop)" >&2; exit 2 ;;
  esac
done

bindir() {  # Debian keeps the server programs out of PATH, one folder per major version
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; fi
}

BIN=$(bindir)
if [ -z "$BIN" ]; then
  if [ "$STOP" = 1 ]; then exit 0; fi
  if [ "$INSTALL" = 0 ]; then
    echo "PostgreSQL is not installed: run \`make postgres\` (it installs Debian's package), then run this again." >&2
    exit 2
  fi
  echo "Installing Debian's PostgreSQL for the production profile and its test" >&2
  SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  BIN=$(bindir)
  [ -n "$BIN" ] || { echo "apt-get installed postgresql but no pg_ctl was found under /usr/lib/postgresql" >&2; exit 1; }
fi

# The server's user: ourselves, or Debian's `postgres` user when we are root.
if [ "$(id -u)" = 0 ]; then
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
  if ! as_owner test -x "$REPO"; then  # the repository is not reachable by `postgres` (e.g. under /root)
    STATE="${COMMONGROUND_POSTGRES_DIR:-/var/lib/postgresql/commonground-$(printf %s "$REPO" | sha256sum | cut -c1-12)}"
  fi
else
  OWNER=$(id -un)
  as_owner() { "$@"; }
fi
DATA="$STATE/data"
URL="postgresql+psycopg2://$ROLE@127.0.0.1:$PORT/$DB"  # the driver dagster-postgres installs

mkdir -p "$STATE"
[ "$OWNER" = "$(id -un)" ] || chown "$OWNER" "$STATE"
exec 9>"$STATE/.script.lock"  # two `make test` at once: one sets up, the other waits
flock 9

if [ "$STOP" = 1 ]; then
  if [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"
  as_owner mkdir -p "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U "$ROLE" --auth=trust -E UTF8 --no-locale >/dev/null
  # 127.0.0.1 only, no Unix socket (its default folder belongs to the system cluster)
  printf '%s\n' "listen_addresses = '127.0.0.1'" "port = $PORT" "unix_socket_directories = ''" "max_connections = 200" \
    | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
fi

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  # the server must not inherit the script's lock (fd 9) or the caller's output
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start </dev/null >/dev/null 9>&- || {
    echo "PostgreSQL did not start; its log is $DATA/server.log:" >&2; tail -n 20 "$DATA/server.log" >&2; exit 1; }
fi

PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -X -q -t -A)
if [ "$("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
  "${PSQL[@]}" -d postgres -c "create database $DB" >/dev/null
fi
echo "$URL"
