#!/usr/bin/env bash
# Profiles the bet rush (docs/benchmarks.md, "Bet placement"): runs the bet benchmark through the gateway and, during
# its timed window, records the whole box with perf and reads pg_stat_statements. Prints the statements that cost most,
# and perf samples per process. Needs the Release builds of the benchmark's command, linux-perf and python3.
# Usage: benchmarks/profile-bet-rush.sh [rate] [output folder]
set -euo pipefail
rate=${1:-5000}
out=${2:-/tmp/streambets-profile}
cd "$(dirname "$0")/.."
mkdir -p "$out"

# Symbols for JIT-compiled code (W^X off, or perf cannot map it), and the statistics extension in the harness's server.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
export STREAMBETS_POSTGRES_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
dotnet run -c Release --no-build --project benchmarks/StreamBets.BetEngine.Benchmarks -- \
    --self-host --through-gateway --players 2000 --rate "$rate" --duration 20 --warmup 45 > "$out/run.log" 2>&1 &
harness=$!
until grep -q "funded players" "$out/run.log"; do
    kill -0 $harness 2> /dev/null || { cat "$out/run.log"; exit 1; }
    sleep 1
done
port=$(grep -oP "PostgreSQL on \K[0-9]+" "$out/run.log")
psql_() { psql -h 127.0.0.1 -p "$port" -U postgres -X -q "$@"; }

# Statistics from the second half of the warm-up on (the JIT has settled by then), perf over 15 s of the timed window.
sleep 20
for db in betsdb usersdb poolsdb; do
    psql_ -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" > /dev/null
done
sleep 28
ps -eo pid,args > "$out/processes.txt"
perf record -a -g -F 199 -o "$out/perf.data" -- sleep 15 2> "$out/perf-record.log"
psql_ -d betsdb -c "SELECT d.datname AS db, calls, round(total_exec_time::numeric, 1) AS total_ms,
        round((total_exec_time / calls)::numeric, 2) AS ms_per_call, rows,
        left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid ORDER BY total_exec_time DESC LIMIT 15" > "$out/statements.txt"
wait $harness

perf script -i "$out/perf.data" -F pid,comm 2> /dev/null > "$out/samples.txt"
python3 - "$out" << 'EOF'
import collections, re, sys
out = sys.argv[1]
processes = {}
for line in open(f"{out}/processes.txt"):
    pid, _, args = line.strip().partition(" ")
    if pid.isdigit():
        processes[int(pid)] = args.strip()

def name(pid):
    args = processes.get(pid, "")
    if m := re.search(r"StreamBets\.([\w.]+?)(\.dll| )", args):
        return m.group(1)
    if m := re.search(r"postgres: \S+ (\w+)", args):
        return "PostgreSQL " + m.group(1)
    return args.split(" ")[0] or "idle or ended"

counts = collections.Counter()
for line in open(f"{out}/samples.txt"):
    if line.strip():
        counts[name(int(line.split()[-1]))] += 1
total = sum(counts.values())
print(f"perf samples over 15 s, by process ({total} in all):")
for process, n in counts.most_common(12):
    print(f"  {n:6} {100 * n / total:5.1f} %  {process}")
EOF
echo
grep -A3 "^Measured" "$out/run.log"
echo
cat "$out/statements.txt"
echo "Files in $out (perf report -i $out/perf.data for the call graphs)."
