#!/usr/bin/env bash
# A local Ray head on loopback, for running plugins on Ray (and for `npm run test:ray`).
#   scripts/ray.sh install   -> creates .venv-ray/ with the pinned Ray (no-op when present)
#   scripts/ray.sh start     -> installs if needed, starts a head, waits for the Jobs REST API,
#                               prints the dashboard URL
#   scripts/ray.sh status    -> prints the cluster status (exit 1 when no head answers)
#   scripts/ray.sh stop      -> stops the head started by `start` (only that one)
# Ports and state directory come from the environment, so a test head never collides with
# another: RAY_DASHBOARD_PORT (8265), RAY_GCS_PORT (6379), RAY_CLIENT_PORT (10001),
# RAY_AGENT_PORT (52365), RAY_NUM_CPUS (2), RAY_STATE_DIR (.venv-ray/state). Keep them out of
# 10002-19999, the range of Ray's worker ports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-ray"
pin="ray[default,serve]==2.60.0"
dash_port=${RAY_DASHBOARD_PORT:-8265}
gcs_port=${RAY_GCS_PORT:-6379}
client_port=${RAY_CLIENT_PORT:-10001}
agent_port=${RAY_AGENT_PORT:-52365}
state=${RAY_STATE_DIR:-$venv/state}
url="http://127.0.0.1:$dash_port"
export RAY_USAGE_STATS_ENABLED=0
# Without this Ray replaces a loopback node IP with the machine's external address.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0

install() {
  [ -x "$venv/bin/ray" ] && return 0
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$pin" >&2
}

answers() { curl -sf -o /dev/null --max-time 2 "$url/api/version"; }

case "${1:-}" in
  install) install ;;
  start)
    install
    if answers; then echo "a Ray dashboard already answers on port $dash_port" >&2; exit 1; fi
    mkdir -p "$state"
    # --block keeps `ray start` in the foreground as the parent of the head's processes; it
    # runs in its own session so `stop` can end exactly this head (`ray stop` would end every
    # Ray process on the machine). Ray's temp dir is short: unix socket paths are limited.
    tmp="/tmp/ray-$dash_port"
    # The head's processes (Python's multiprocessing, the Node replicas) keep their temp files
    # there too, so `stop` removes everything the head wrote.
    mkdir -p "$tmp"
    TMPDIR="$tmp" PATH="$venv/bin:$PATH" setsid "$venv/bin/ray" start --head --block --disable-usage-stats \
      --node-ip-address 127.0.0.1 --dashboard-host 127.0.0.1 --dashboard-port "$dash_port" \
      --port "$gcs_port" --ray-client-server-port "$client_port" --dashboard-agent-listen-port "$agent_port" \
      --num-cpus "${RAY_NUM_CPUS:-2}" --temp-dir "$tmp" \
      >"$state/head.log" 2>&1 </dev/null &
    echo $! >"$state/head.pid"
    for _ in $(seq 1 240); do
      if answers; then echo "$url"; exit 0; fi
      if ! kill -0 "$(cat "$state/head.pid")" 2>/dev/null; then break; fi
      sleep 0.5
    done
    echo "Ray head did not start; see $state/head.log" >&2
    tail -n 30 "$state/head.log" >&2
    exit 1
    ;;
  status)
    answers || { echo "no Ray head answers on port $dash_port" >&2; exit 1; }
    curl -sf "$url/api/cluster_status" && echo
    ;;
  stop)
    [ -f "$state/head.pid" ] || exit 0
    pid=$(cat "$state/head.pid")
    # `ray start --block` stops its processes on SIGTERM; whatever is left in its session
    # after that is killed.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$state/head.pid"
    rm -rf "/tmp/ray-$dash_port"
    ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
