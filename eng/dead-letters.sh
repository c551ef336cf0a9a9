#!/usr/bin/env bash
# The local event bus's dead letters (Redis Streams): list them, or put them back for the consumer group that gave up
# on them once the cause is fixed. docs/runbook.md, "Re-driving a dead letter", says when, and the Kafka equivalent.
# Usage: eng/dead-letters.sh [--redis HOST:PORT] [--prefix streambets] list [GROUP]
#        eng/dead-letters.sh [--redis HOST:PORT] [--prefix streambets] redrive GROUP ENTRY_ID|--all
# GROUP is a service's consumer group (users, pools, betengine, settlement, realtime). Without --redis the script
# uses $STREAMBETS_REDIS, or the one redis-server listening on this machine (local mode runs one).
set -euo pipefail

redis="${STREAMBETS_REDIS:-}"
prefix=streambets
while [ $# -gt 0 ]; do
  case "$1" in
    --redis) redis="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    *) break ;;
  esac
done
command="${1:-list}"
usage="Usage: $0 [--redis HOST:PORT] [--prefix streambets] list [GROUP] | redrive GROUP ENTRY_ID|--all"

if [ -z "$redis" ]; then
  ports=$(ss -Hltnp 2>/dev/null | awk '/"redis-server"/ { n = split($4, a, ":"); print a[n] }' | sort -u)
  if [ "$(echo "$ports" | grep -c .)" -ne 1 ]; then
    echo "Cannot tell which Redis is the bus's (found: ${ports:-none}); pass --redis HOST:PORT (the Aspire dashboard's redis resource shows it)." >&2
    exit 2
  fi
  redis="127.0.0.1:$ports"
fi
cli=(redis-cli -h "${redis%:*}" -p "${redis##*:}")

# One line per dead letter: entry id, event type, event id, when, and the consumer's last error.
list_script='
local out = {}
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  local ok, event = pcall(cjson.decode, f.ce or "")
  out[#out + 1] = e[1] .. "  " .. (f.type or "?") .. "  event " .. ((ok and type(event) == "table" and event.id) or "?")
    .. "  at " .. (f.at or "?") .. "  " .. (f.error or "")
end
return out'

# Moves dead letters (ARGV[1] an entry id, or "*" for all) back onto the partition stream they came from, marked for
# ARGV[2]'s group alone, and rings its doorbell; atomic, so an entry is either back on its stream or still a dead letter.
# Only the ids read decide what moves: an entry that was never readable (trimmed before it was read) stays.
redrive_script='
local entries = ARGV[1] == "*" and redis.call("XRANGE", KEYS[1], "-", "+") or redis.call("XRANGE", KEYS[1], ARGV[1], ARGV[1])
if #entries == 0 then return redis.error_reply("ERR no dead letter " .. ARGV[1] .. " in " .. KEYS[1]) end
local moved, kept = 0, 0
for _, e in ipairs(entries) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  if f.stream and f.ce and f.ce ~= "" then
    redis.call("XADD", f.stream, "MAXLEN", "~", ARGV[3], "*", "type", f.type, "ce", f.ce, "redrive-to", ARGV[2])
    redis.call("PUBLISH", f.stream .. ":doorbell", "")
    redis.call("XDEL", KEYS[1], e[1])
    moved = moved + 1
  else
    kept = kept + 1
  end
end
return "re-driven " .. moved .. (kept > 0 and (", kept " .. kept .. " whose event was trimmed before it was read") or "")'

case "$command" in
  list)
    if [ -n "${2:-}" ]; then
      streams=("$prefix:deadletter:$2")
    else
      mapfile -t streams < <("${cli[@]}" --scan --pattern "$prefix:deadletter:*" | sort)
    fi
    [ ${#streams[@]} -gt 0 ] || echo "No dead letters."
    for stream in "${streams[@]}"; do
      echo "== ${stream##*:} ($("${cli[@]}" XLEN "$stream") dead letters)"
      "${cli[@]}" EVAL "$list_script" 1 "$stream"
    done
    ;;
  redrive)
    [ $# -eq 3 ] || { echo "$usage" >&2; exit 2; }
    group="$2"; entry="$3"
    [ "$entry" = "--all" ] && entry="*"
    # The partition streams' own cap (Messaging:RedisStreams:MaxLengthPerPartition).
    result=$("${cli[@]}" EVAL "$redrive_script" 1 "$prefix:deadletter:$group" "$entry" "$group" "${STREAMBETS_STREAM_MAXLEN:-100000}")
    echo "$result"
    case "$result" in ERR*) exit 1 ;; esac
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
