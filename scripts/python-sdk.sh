#!/usr/bin/env bash
# The platform's own Python SDK, pinned, in .venv-pysdk/: the suite runs it against the local
# platform and compares the requests it sends with ours (packages/sdk/test/clients/
# python-sdk-requests.test.ts). Its 2026.x line needs Python 3.12 or newer.
#   scripts/python-sdk.sh install   -> creates .venv-pysdk/ (no-op when present); exit 1 without Python >= 3.12
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-pysdk"
pin="synapse-sdk==2026.2.17"

python312() {
  local candidate
  for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

case "${1:-}" in
  install)
    [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import synapse_sdk' 2>/dev/null && exit 0
    python=$(python312) || { echo "python-sdk.sh: no Python >= 3.12 found" >&2; exit 1; }
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$pin" >&2
    ;;
  *)
    echo "usage: scripts/python-sdk.sh install" >&2
    exit 2
    ;;
esac
