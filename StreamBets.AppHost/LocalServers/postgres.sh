#!/usr/bin/env bash
# Local mode: runs PostgreSQL from the machine's packages in the foreground.
# Usage: postgres.sh DATA_DIR PORT. The cluster is created on first run and kept afterwards.
# STREAMBETS_POSTGRES_OPTIONS adds server options, e.g. "-c shared_preload_libraries=pg_stat_statements" to profile.
set -euo pipefail
data="$1"; port="$2"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "PostgreSQL is not installed: install the Debian package 'postgresql' (see the README's run command)." >&2
  exit 1
fi
mkdir -p "$data"
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # initdb and postgres refuse to run as root.
  chown postgres:postgres "$data"
  chmod 700 "$data"
  # setpriv, not runuser: runuser stays the server's parent and SIGKILLs it 2 s after passing a SIGTERM on.
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  if ! "${as_owner[@]}" test -w "$data"; then
    echo "PostgreSQL runs as the 'postgres' user, which cannot reach $data: every folder above it must be" \
         "searchable by others (chmod o+x), or choose another --StreamBets:DataDirectory." >&2
    exit 1
  fi
fi
if [ ! -f "$data/PG_VERSION" ]; then
  "${as_owner[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
# A server that a run killed hard (its orchestrator gone) left behind still owns the cluster and its shared memory:
# stop it, or this one exits with "pre-existing shared memory block is still in use" and the services never start.
if "${as_owner[@]}" "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
  echo "Stopping the PostgreSQL server a previous run left running on $data." >&2
  "${as_owner[@]}" "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
fi
rm -f "$data/postmaster.pid"
# The orchestrator stops a resource with SIGTERM, which PostgreSQL takes as a smart shutdown: it waits for every client
# to leave, and a client that stays keeps it (and the stop) waiting. A fast shutdown cuts them and writes its checkpoint.
# Trapped before the server starts, so a stop that comes as it starts is not lost.
server=
trap 'stopping=1; [ -z "$server" ] || kill -INT "$server" 2>/dev/null || true' TERM INT
# TCP only, no Unix socket: everything connects to 127.0.0.1, and a socket path over 107 bytes (a deep clone or TMPDIR)
# stops PostgreSQL at start ("could not create any Unix-domain sockets").
"${as_owner[@]}" "$bin/postgres" -D "$data" -p "$port" -c unix_socket_directories= \
  -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB -c max_wal_size=4GB \
  -c log_min_messages=warning -c log_checkpoints=off ${STREAMBETS_POSTGRES_OPTIONS:-} &
server=$!
[ -z "${stopping:-}" ] || kill -INT "$server"
# A trap ends a wait early: wait again while the server runs, then answer with its exit status (bash keeps it).
while kill -0 "$server" 2>/dev/null; do
  wait "$server" || true
done
wait "$server"
