/**
 * `synapse-sdk/formats`: dataset format converters, both directions, between the platform's task
 * objects (what ToTask submits: `{"objects": [{id, class_id, type, coordinates, properties}]}`)
 * and COCO, YOLO and Pascal VOC. Plain functions over data in memory (no files, no platform): a
 * plugin or the export action writes what they return. Class ids map explicitly through a class
 * list; whatever a format cannot hold is returned in `problems`, naming the item, never dropped
 * in silence.
 */
export {
  type CocoAnnotation,
  type CocoCategory,
  type CocoDataset,
  type CocoImage,
  type FromCocoOptions,
  fromCoco,
  type ToCocoOptions,
  toCoco,
} from './coco.ts';
export {
  type BoxCoordinates,
  type BoxObject,
  type ClassEntry,
  type DatasetItem,
  DEFAULT_FORMAT_LIMITS,
  type FormatLimits,
  type FormatProblem,
  type Point,
  type PolygonObject,
  type ReadItem,
  type ShapeObject,
} from './task-objects.ts';
export {
  type FromVocOptions,
  fromVoc,
  fromVocFiles,
  type ToVocOptions,
  toVoc,
  VOC_ANNOTATIONS_DIR,
} from './voc.ts';
export {
  type FromYoloOptions,
  fromYolo,
  type ToYoloOptions,
  toYolo,
  YOLO_DATA_FILE,
  YOLO_LABELS_DIR,
  yoloDataYaml,
} from './yolo.ts';
