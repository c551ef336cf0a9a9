#!/usr/bin/env bash
# Measures the build time and the cold start of the whole app in local mode: from `dotnet run` of the
# AppHost (already built) to every service healthy through the gateway, with a fresh data folder.
# Usage: benchmarks/cold-start.sh [runs=3]   (SKIP_BUILD=1 reuses the current build and measures only the starts)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
services=(users betengine pools settlement payments integration realtime analytics)

if [ "${SKIP_BUILD:-}" != 1 ]; then
  dotnet build-server shutdown >/dev/null 2>&1 || true
  find . -type d \( -name bin -o -name obj \) -not -path "./.data/*" -prune -exec rm -rf {} + 2>/dev/null || true
  start=$(date +%s.%N)
  dotnet build StreamBets.AppHost -nologo -clp:ErrorsOnly >/dev/null
  echo "clean build of the AppHost and every service: $(echo "$(date +%s.%N) - $start" | bc) s"
fi

# CPU seconds the app's whole process tree used until then (the AppHost, DCP, the dashboard, the servers, every
# service and its `dotnet run`): unlike the wall-clock time, it hardly depends on what else runs on the box, and half
# of it is the floor of a start on two cores.
cpu_report() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
children, info = {}, {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2:].split()
    children.setdefault(int(fields[1]), []).append(int(pid))
    info[int(pid)] = (sum(int(f) for f in fields[11:15]) / tick, cmd)  # utime stime cutime cstime
def descendants(root):
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree
tree = descendants(int(sys.argv[1]))
# DCP detaches from the AppHost; it is the process that monitors it, and it runs every resource.
monitors = {f"--monitor {pid} " for pid in tree}
tree += [p for dcp in info if any(m in info[dcp][1] + " " for m in monitors) for p in descendants(dcp)]
used = sorted(((info[p][0], info[p][1]) for p in tree if p in info), reverse=True)
print(f"  CPU used by the app's processes: {sum(u for u, _ in used):.0f} s; the biggest:")
for seconds, cmd in used[:8]:
    words = [w.rsplit("/", 1)[-1] for w in cmd.split()] or ["?"]
    name = f"dotnet run {words[3]}" if words[:3] == ["dotnet", "run", "--project"] else " ".join(words[:2])
    print(f"    {seconds:5.1f} s  {name}")
PY
}

for run in $(seq 1 "$runs"); do
  data=$(mktemp -d /tmp/streambets-coldstart.XXXXXX)
  chmod 755 "$data" # PostgreSQL runs as its own user and must reach its folder inside
  start=$(date +%s.%N)
  dotnet run --project StreamBets.AppHost --no-build --launch-profile http -- --StreamBets:DataDirectory="$data" >"$data/apphost.log" 2>&1 &
  apphost=$!
  healthy=0
  # When each part first answered, so a slow start names its tail (checked in parallel: one silent part must not
  # stretch the polling interval).
  declare -A first=()
  for _ in $(seq 1 600); do
    probes=()
    for service in "${services[@]}"; do
      [ -n "${first[$service]:-}" ] || { [ "$(curl -s -m 2 http://localhost:5100/health/$service)" = "Healthy" ] && echo "$service" >>"$data/up"; } & probes+=($!)
    done
    [ -n "${first[web]:-}" ] || { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' http://localhost:5200/health)" = 200 ] && echo web >>"$data/up"; } & probes+=($!)
    [ -n "${first[admin]:-}" ] || { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' http://localhost:5210/health)" = 200 ] && echo admin >>"$data/up"; } & probes+=($!)
    wait "${probes[@]}" || true # not a bare wait: the AppHost is a background job too
    now=$(echo "$(date +%s.%N) - $start" | bc)
    if [ -f "$data/up" ]; then
      while read -r part; do [ -n "${first[$part]:-}" ] || first[$part]=$now; done <"$data/up"
      rm -f "$data/up"
    fi
    if [ "${#first[@]}" = $(( ${#services[@]} + 2 )) ]; then healthy=1; break; fi
    sleep 0.5
  done
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  cpu_report "$apphost" >"$data/cpu"
  kill -TERM "$apphost"; wait "$apphost" 2>/dev/null || true
  sleep 5
  cpu=$(cat "$data/cpu"); rm -rf "$data"
  if [ $healthy = 1 ]; then echo "run $run: all healthy after $elapsed s"; else echo "run $run: NOT healthy after $elapsed s"; fi
  for part in "${!first[@]}"; do printf '  %-12s %6.1f s\n' "$part" "${first[$part]}"; done | sort -k2 -n
  echo "$cpu"
  unset first
done
