# Sourced by the local server scripts. A server that a run killed hard left behind (its orchestrator gone) still holds
# its data folder; stop_leftover PID NAME [SIGNAL] stops it if PID is still a process of that name (/proc's 15-character
# comm), with SIGNAL (TERM by default), then SIGKILL after 30 s.
stop_leftover() {
  local pid="$1" name="$2" signal="${3:-TERM}"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    echo "Stopping $name (PID $pid): a previous run left it running on this data folder." >&2
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
