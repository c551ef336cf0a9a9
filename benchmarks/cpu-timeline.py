#!/usr/bin/env python3
"""CPU per process group over time, to line a benchmark's slow moments up with whoever took the CPU then.

  benchmarks/cpu-timeline.py record OUT SECONDS   every 20 ms, CPU ticks per group (StreamBets services by name,
                                                  PostgreSQL backends by database, autovacuum workers, Redis) -> OUT
  benchmarks/cpu-timeline.py show OUT [FROM TO STEP]  cores used per group in STEP-second slices (default 0.2 s) from
                                                  FROM to TO seconds before the recording's end (default: all of it)

Reads /proc only (no perf). The kernel counts in 10 ms ticks, so a slice shorter than 0.1 s is coarse. Used in
docs/benchmarks.md ("Bet placement", session 27) beside a bet benchmark run.
"""
import collections
import datetime
import os
import re
import sys
import time

GROUPS = ["Gateway", "BetEngine", "pg:betsdb", "pg:usersdb", "Users", "Pools", "BetEngine.Benchmarks", "redis",
          "pg:autovacuum", "pg:poolsdb"]


def group_of(pid):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if m := re.search(r"StreamBets\.([\w.]+?)(\.dll| |$)", args):
        return m.group(1)
    if args.startswith("postgres: autovacuum"):
        return "pg:autovacuum"
    if m := re.search(r"postgres: \S+ (\w+) ", args):
        return "pg:" + m.group(1)
    if args.startswith("postgres"):
        return "pg:server"
    if "redis-server" in args:
        return "redis"
    return None


def record(out, seconds):
    groups, last = {}, {}
    end = time.time() + seconds
    with open(out, "w") as f:
        while time.time() < end:
            now = time.time()
            used = collections.Counter()
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                pid = int(entry)
                if pid not in groups:
                    groups[pid] = group_of(pid)
                if not groups[pid]:
                    continue
                try:
                    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                ticks = int(fields[11]) + int(fields[12])  # utime + stime
                used[groups[pid]] += ticks - last.get(pid, ticks)
                last[pid] = ticks
            f.write(f"{now:.3f}\t" + "\t".join(f"{k}={v}" for k, v in sorted(used.items()) if v) + "\n")
            time.sleep(max(0.0, 0.02 - (time.time() - now)))


def show(out, start=None, stop=None, step=0.2):
    samples = []
    for line in open(out):
        stamp, *pairs = line.rstrip("\n").split("\t")
        samples.append((float(stamp), {k: int(v) for k, v in (p.split("=") for p in pairs if p)}))
    last = samples[-1][0]
    t = last - start if start is not None else samples[0][0]
    until = last - stop if stop is not None else last
    print("UTC       " + " ".join(f"{g[:9]:>9}" for g in GROUPS))
    while t < until:
        used = collections.Counter()
        for stamp, ticks in samples:
            if t < stamp <= t + step:
                used.update(ticks)
        clock = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-5]
        print(clock + " " + " ".join(f"{used[g] / 100 / step:9.2f}" for g in GROUPS))
        t += step


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], float(sys.argv[3]))
    elif len(sys.argv) in (3, 6) and sys.argv[1] == "show":
        show(sys.argv[2], *map(float, sys.argv[3:]))
    else:
        sys.exit(__doc__)
