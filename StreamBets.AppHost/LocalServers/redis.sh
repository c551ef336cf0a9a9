#!/usr/bin/env bash
# Local mode: runs Redis from the machine's packages in the foreground.
# Usage: redis.sh DATA_DIR PORT. Append-only with a once-a-second fsync keeps the local event streams across restarts.
# The append-only file is rewritten only after it grew by 1 GB (Redis's default is 64 MB): each rewrite writes the
# whole dataset again, and on a box whose disk PostgreSQL shares that stalls every commit for a few hundred
# milliseconds; in a 5,000 bets/s rush the default rewrote every 10-12 s (docs/machine-notes.md, "Redis rewrites").
set -euo pipefail
data="$1"; port="$2"
mkdir -p "$data"
# A server a run killed hard left behind would append to the same file as this one: stop it first.
source "$(dirname "$0")/stop-leftover.sh"
stop_leftover "$(cat "$data/redis.pid" 2>/dev/null || true)" redis-server
exec redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --pidfile "$data/redis.pid" \
  --save "" --appendonly yes --appendfsync everysec --auto-aof-rewrite-min-size 1gb
