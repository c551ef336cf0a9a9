#!/usr/bin/env bash
# Local mode, --StreamBets:ResetData=true: stops the servers a hard-killed run left on DATA_DIR (their PID files are about
# to go, and a leftover would keep its port), then deletes only the servers' own folders: DATA_DIR may hold anything.
# Usage: reset.sh DATA_DIR
set -euo pipefail
data="$1"
source "$(dirname "$0")/stop-leftover.sh"
# INT: a fast shutdown; TERM would wait for the killed run's clients to leave.
stop_leftover "$(head -n 1 "$data/postgres/postmaster.pid" 2>/dev/null || true)" postgres INT
stop_leftover "$(cat "$data/redis/redis.pid" 2>/dev/null || true)" redis-server
stop_leftover "$(sed -n 's/^PID: //p' "$data/clickhouse/data/status" 2>/dev/null || true)" clickhouse-serv
rm -rf "$data/postgres" "$data/redis" "$data/clickhouse"
