"""
Converts the CenterNet TensorFlow.js graph model that ships in `@vladmandic/human` to ONNX, for
ONNX Runtime: tfjs graph JSON + weights -> TensorFlow GraphDef -> tf2onnx. Then runs both graphs
(TensorFlow and ONNX Runtime) on the same input and refuses to write a model whose detections differ.

Usage: convert_onnx.py <centernet.json> <photo.jpg> <out.onnx>   (convert-onnx.sh pins the tools)
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from google.protobuf import json_format

INPUT = "tower_0/images"
OUTPUT = "tower_0/detections"
OPSET = 17


def read_weights(model_dir: Path, manifest: list) -> dict:
    """The weights of the manifest by name, dequantized to their original dtype."""
    weights = {}
    for group in manifest:
        data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = spec["shape"]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant and quant["dtype"] == "float16":
                stored = np.dtype("<f2")
            elif quant:
                raise SystemExit(f"unsupported weight quantization {quant['dtype']} of {spec['name']}")
            else:
                stored = np.dtype({"float32": "<f4", "int32": "<i4"}[spec["dtype"]])
            size = count * stored.itemsize
            array = np.frombuffer(data[offset : offset + size], stored).reshape(shape)
            weights[spec["name"]] = array.astype(spec["dtype"])
            offset += size
        if offset != len(data):
            raise SystemExit(f"weights of {group['paths']}: {len(data) - offset} bytes left over")
    return weights


def unfused(node: dict) -> list:
    """
    TensorFlow.js folds BiasAdd and an activation into `_FusedConv2D` and its own
    `FusedDepthwiseConv2dNative`; give tf2onnx the plain ops (ONNX Runtime fuses them again).
    """
    base = {"FusedDepthwiseConv2dNative": "DepthwiseConv2dNative", "_FusedConv2D": "Conv2D"}.get(node["op"])
    if base is None:
        return [node]
    attr = dict(node["attr"])
    ops = [s.decode() for s in json_format.ParseDict(attr.pop("fused_ops"), tf.compat.v1.AttrValue()).list.s]
    for extra in ("num_args", "epsilon", "leakyrelu_alpha"):
        attr.pop(extra, None)
    if base == "DepthwiseConv2dNative":
        attr.pop("use_cudnn_on_gpu", None)
    name, (data, kernel, *args) = node["name"], node["input"]
    nodes = [{"name": f"{name}/conv", "op": base, "input": [data, kernel], "attr": attr}]
    t = {"T": node["attr"]["T"]}
    for op in ops:
        previous = nodes[-1]["name"]
        if op == "BiasAdd":
            nodes.append({"name": f"{name}/bias", "op": "BiasAdd", "input": [previous, args.pop(0)],
                          "attr": {**t, "data_format": node["attr"].get("data_format", {"s": "TkhXQw=="})}})
        elif op in ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh"):
            nodes.append({"name": f"{name}/{op.lower()}", "op": op, "input": [previous], "attr": t})
        else:
            raise SystemExit(f"{name}: unsupported fused op {op}")
    nodes[-1]["name"] = name  # consumers refer to the fused node's name
    return nodes


def graph_def(model_json: dict, weights: dict) -> tf.compat.v1.GraphDef:
    graph = tf.compat.v1.GraphDef()
    for node in model_json["modelTopology"]["node"]:
        for n in unfused(node):
            n = {k: v for k, v in n.items() if k != "device"}
            proto = json_format.ParseDict(n, tf.compat.v1.NodeDef())
            if proto.op == "Const":
                value = weights[proto.name]
                proto.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
                proto.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
            graph.node.append(proto)
    return graph


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def unmatched_detections(expected: np.ndarray, actual: np.ndarray, threshold: float) -> int:
    """
    Rows (x1, y1, x2, y2, score, class) of `expected` at or above `threshold` with no row in `actual`
    of the same class, nearly the same score and box. Float rounding differs between the runtimes'
    kernels, so near-equal scores may swap places: rows are matched, not compared in order.
    """
    missing = 0
    for row in expected[expected[:, 4] >= threshold]:
        same = [r for r in actual if r[5] == row[5] and abs(r[4] - row[4]) < 0.01 and iou(r, row) > 0.95]
        missing += not same
    return missing


def run_tf(graph: tf.compat.v1.GraphDef, image: np.ndarray) -> np.ndarray:
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(graph, name="")
        with tf.compat.v1.Session(graph=g) as session:
            return session.run(f"{OUTPUT}:0", {f"{INPUT}:0": image})


def main(json_path: str, photo_path: str, out_path: str) -> None:
    model_json_file = Path(json_path)
    model_json = json.loads(model_json_file.read_text())
    weights = read_weights(model_json_file.parent, model_json["weightsManifest"])
    graph = graph_def(model_json, weights)

    model, _ = tf2onnx.convert.from_graph_def(
        graph, input_names=[f"{INPUT}:0"], output_names=[f"{OUTPUT}:0"], opset=OPSET
    )
    onnx.checker.check_model(model)

    # The same real photo through both graphs (pixels 0-255, as the detector feeds them).
    photo = tf.io.decode_jpeg(Path(photo_path).read_bytes(), channels=3)
    image = tf.image.resize(tf.cast(photo, tf.float32)[None], [512, 512]).numpy()
    expected = run_tf(graph, image)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    actual = session.run(None, {session.get_inputs()[0].name: image})[0]
    unmatched = unmatched_detections(expected[0], actual[0], threshold=0.2)
    print(f"{int((expected[0, :, 4] >= 0.2).sum())} detections >= 0.2 from TensorFlow, {unmatched} without a match")
    if unmatched:
        raise SystemExit("ONNX Runtime's detections differ from TensorFlow's: not written")

    onnx.save(model, out_path)
    # Say where the network came from: the exact files it was converted from, and the tools, so
    # that a test can tell when the installed package no longer matches the committed conversion.
    out = Path(out_path)
    sources = [model_json_file] + [model_json_file.parent / p for g in model_json["weightsManifest"] for p in g["paths"]]
    provenance = {
        "onnx": {out.name: sha256(out)},
        "converted_from": {p.name: sha256(p) for p in sources},
        "tools": {"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__},
        "opset": OPSET,
    }
    Path(f"{out_path}.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out_path} ({out.stat().st_size} bytes) and {out.name}.json")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
