# Sourced by the test servers' scripts (s3-server.sh, sftp-server.sh): a server started with
# setsid writes its session's id to DIR/session.pid; these wait for it and end it.

# Waits until 127.0.0.1:PORT accepts a connection, then runs READY; fails, with NAME's log, when the
# session ends first or after TRIES tenths of a second.   usage: wait_for_port DIR PORT TRIES NAME LOG READY...
wait_for_port() {
  local dir=$1 port=$2 tries=$3 name=$4 log=$5
  shift 5
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      "$@"
      return
    fi
    kill -0 "$(cat "$dir/session.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start; see $log" >&2
  tail -n 20 "$log" >&2
  return 1
}

# Ends the session (TERM, then KILL after 2 s) and removes DIR.   usage: stop_session DIR
stop_session() {
  local dir=$1 pid
  if [ -f "$dir/session.pid" ]; then
    pid=$(cat "$dir/session.pid")
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
