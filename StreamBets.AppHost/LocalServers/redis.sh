#!/usr/bin/env bash
# Local mode: runs Redis from the machine's packages in the foreground.
# Usage: redis.sh DATA_DIR PORT. Append-only with a once-a-second fsync keeps the local event streams across restarts.
set -euo pipefail
data="$1"; port="$2"
mkdir -p "$data"
# A server a run killed hard left behind would append to the same file as this one: stop it first.
source "$(dirname "$0")/stop-leftover.sh"
stop_leftover "$(cat "$data/redis.pid" 2>/dev/null || true)" redis-server
exec redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --pidfile "$data/redis.pid" \
  --save "" --appendonly yes --appendfsync everysec
