#!/usr/bin/env bash
# Converts the detector's network (the TensorFlow.js graph model inside the installed
# `@vladmandic/human`) to ONNX for ONNX Runtime, with pinned tools from PyPI in .venv-onnx/, and
# writes examples/object-detection/models/centernet.onnx. The conversion checks itself: both graphs
# run on a real photo and the file is written only if their detections match (convert_onnx.py).
# The result is committed, so that running the detector needs neither Python nor TensorFlow; run
# this again after upgrading `@vladmandic/human` (test/onnx.test.ts says when it is due).
#   examples/object-detection/scripts/convert-onnx.sh   (after npm ci; about 300 MB of wheels once)
set -euo pipefail
# ONNX Runtime (the conversion's check runs it; importing it is enough) would otherwise send usage
# telemetry and keep a device id under ~/.cache/Microsoft.
export ORT_DISABLE_TELEMETRY=1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv="$root/.venv-onnx"
pins=(tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6 protobuf==7.36.2)

python=""
for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || { echo "convert-onnx.sh: needs Python 3.10 to 3.13 (set PYTHON=...)" >&2; exit 1; }

if ! "$venv/bin/python" -c 'import tensorflow, tf2onnx, onnxruntime' 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}" >&2
fi

human="$root/node_modules/@vladmandic/human" # npm ci hoists it (packaged.ts finds it the same way)
[ -f "$human/models/centernet.json" ] || { echo "convert-onnx.sh: $human/models/centernet.json not found: run npm ci" >&2; exit 1; }

mkdir -p "$here/../models"
TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" "$here/convert_onnx.py" \
  "$human/models/centernet.json" "$human/assets/samples.jpg" "$here/../models/centernet.onnx"
