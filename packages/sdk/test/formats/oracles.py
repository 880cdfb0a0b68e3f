"""The independent readers and writers for oracles.test.ts (pycocotools, supervision).

    python oracles.py <dir>

<dir>/manifest.json names the images (file name, width, height) and the class names in class
order; the SDK's files are in <dir>/coco.json, <dir>/yolo/, <dir>/voc/, <dir>/voc-int/. This
script makes blank images of those sizes (the readers take image sizes from image files), reads
every dataset with the oracles, writes the manifest's `reverse` boxes as a dataset with
supervision's own writers into <dir>/reverse/, and prints what it read as JSON on stdout.
"""

import contextlib
import io
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import supervision as sv  # noqa: E402
from PIL import Image  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

root = sys.argv[1]
manifest = json.load(open(os.path.join(root, "manifest.json")))
images_dir = os.path.join(root, "images")
os.makedirs(images_dir, exist_ok=True)
for image in manifest["images"]:
    Image.new("RGB", (image["width"], image["height"]), (90, 120, 150)).save(
        os.path.join(images_dir, image["file_name"])
    )


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def pycocotools_view(path):
    coco = quiet(COCO, path)
    anns = [coco.anns[i] for i in sorted(coco.anns)]
    # The file's own annotations as detections (score 1): evaluated against themselves, every
    # box must match its ground truth, which gives AP 1.0 at every IoU threshold.
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in anns
    ]
    result = quiet(coco.loadRes, detections)
    evaluation = COCOeval(coco, result, "bbox")
    quiet(evaluation.evaluate)
    quiet(evaluation.accumulate)
    quiet(evaluation.summarize)
    polygons = []
    for a in anns:
        if a["segmentation"]:
            image = coco.imgs[a["image_id"]]
            rle = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], image["height"], image["width"]))
            polygons.append({"id": a["id"], "rle_bbox": [float(v) for v in mask_utils.toBbox(rle)]})
    return {
        "images": {i: coco.imgs[i]["file_name"] for i in coco.imgs},
        "categories": {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())},
        "annotations": [
            {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "area": a["area"]}
            for a in anns
        ],
        "ap": float(evaluation.stats[0]),
        "ap50": float(evaluation.stats[1]),
        "polygons": polygons,
    }


def supervision_view(dataset):
    """Per image file name: [x1, y1, x2, y2, class name] as supervision holds them."""
    out = {}
    for path, detections in dataset.annotations.items():
        boxes = []
        for xyxy, class_id in zip(detections.xyxy, detections.class_id):
            boxes.append([float(v) for v in xyxy] + [dataset.classes[int(class_id)]])
        out[os.path.basename(path)] = boxes
    return {"classes": list(dataset.classes), "images": out}


view = {
    "pycocotools": pycocotools_view(os.path.join(root, "coco.json")),
    "coco": supervision_view(
        sv.DetectionDataset.from_coco(images_directory_path=images_dir, annotations_path=os.path.join(root, "coco.json"))
    ),
    "yolo": supervision_view(
        sv.DetectionDataset.from_yolo(
            images_directory_path=images_dir,
            annotations_directory_path=os.path.join(root, "yolo", "labels"),
            data_yaml_path=os.path.join(root, "yolo", "data.yaml"),
        )
    ),
    "voc": supervision_view(
        sv.DetectionDataset.from_pascal_voc(
            images_directory_path=images_dir, annotations_directory_path=os.path.join(root, "voc", "Annotations")
        )
    ),
    "voc_int": supervision_view(
        sv.DetectionDataset.from_pascal_voc(
            images_directory_path=images_dir, annotations_directory_path=os.path.join(root, "voc-int", "Annotations")
        )
    ),
}

# The reverse direction: supervision writes the manifest's boxes in each format.
reverse = manifest["reverse"]
paths = [os.path.join(images_dir, image["file_name"]) for image in manifest["images"]]
annotations = {}
for path in paths:
    boxes = reverse["boxes"][os.path.basename(path)]
    annotations[path] = (
        sv.Detections(
            xyxy=np.array([b[:4] for b in boxes], dtype=np.float32),
            class_id=np.array([b[4] for b in boxes], dtype=int),
        )
        if boxes
        else sv.Detections.empty()
    )
written = sv.DetectionDataset(classes=reverse["classes"], images=paths, annotations=annotations)
out = os.path.join(root, "reverse")
quiet(written.as_coco, annotations_path=os.path.join(out, "coco.json"))
quiet(
    written.as_yolo,
    annotations_directory_path=os.path.join(out, "yolo", "labels"),
    data_yaml_path=os.path.join(out, "yolo", "data.yaml"),
)
quiet(written.as_pascal_voc, annotations_directory_path=os.path.join(out, "voc"))
view["versions"] = {"supervision": sv.__version__, "numpy": np.__version__}
print(json.dumps(view))
