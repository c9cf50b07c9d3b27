# service.sh — sourced by kafka.sh and azurite.sh: stopping the service a pid file names.
# The caller defines PID_FILE, log() and pid_alive() (is the pid file's process ours?).

# stop_service TRIES INTERVAL: TERM, wait up to TRIES x INTERVAL seconds, then KILL.
stop_service() {
  local tries=$1 interval=$2 pid i
  if ! pid_alive; then rm -f "$PID_FILE"; log "not running"; return 0; fi
  pid="$(cat "$PID_FILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < tries; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep "$interval"
  done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  log "stopped pid $pid"
}
