#!/usr/bin/env bash
# Independent readers of the dataset formats, pinned, in .venv-oracles/: the suite checks the
# SDK's COCO, YOLO and Pascal VOC converters against them (packages/sdk/test/formats/
# oracles.test.ts). Installed once per checkout; the test skips when no Python >= 3.10 exists.
#   scripts/python-oracles.sh install   -> creates .venv-oracles/ (no-op when complete); exit 1 without Python
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-oracles"
pins=(pycocotools==2.0.11 supervision==0.31.2)

python3x() {
  local candidate
  for candidate in python3.12 python3.11 python3.13 python3.10 "$HOME"/.pyenv/versions/3.1[0-9]*/bin/python python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

case "${1:-}" in
  install)
    # A marker written last: an install cut short is redone instead of half-used.
    [ -f "$venv/.complete" ] && exit 0
    python=$(python3x) || { echo "python-oracles.sh: no Python >= 3.10 found" >&2; exit 1; }
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}" >&2
    "$venv/bin/python" -c 'import pycocotools.coco, supervision' >&2
    touch "$venv/.complete"
    ;;
  *)
    echo "usage: scripts/python-oracles.sh install" >&2
    exit 2
    ;;
esac
