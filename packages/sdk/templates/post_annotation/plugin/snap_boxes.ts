import { PostAnnotationAction } from 'synapse-sdk';

type Box = { x: number; y: number; width: number; height: number };
type Data = Record<string, unknown>;

/** The image's size: `extra.image` (the caller knows it), else the data's own `image`. */
function imageSize(data: Data, extra: Data): { width: number; height: number } {
  const image = (extra.image ?? data.image) as { width?: unknown; height?: unknown } | undefined;
  const { width, height } = image ?? {};
  if (typeof width !== 'number' || typeof height !== 'number' || width <= 0 || height <= 0) {
    throw new Error('The image size is needed to snap boxes: give extra.image = {width, height} in pixels');
  }
  return { width, height };
}

/** `box` cut to the image: what lies outside is dropped; a box wholly outside ends with no area. */
function snap(box: Box, width: number, height: number): Box {
  const x = Math.min(Math.max(box.x, 0), width);
  const y = Math.min(Math.max(box.y, 0), height);
  const right = Math.min(Math.max(box.x + box.width, 0), width);
  const bottom = Math.min(Math.max(box.y + box.height, 0), height);
  return { x, y, width: right - x, height: bottom - y };
}

/**
 * `post_annotate`, a task: the submitted boxes snapped to the image's bounds. A box that reaches
 * past an edge is cut at it; one that ends with no area (it lay wholly outside) is dropped.
 */
export class SnapBoxes extends PostAnnotationAction {
  override postAnnotate(data: Data, _assignmentId: number | null, extra: Data): Data {
    const { width, height } = imageSize(data, extra);
    const objects = Array.isArray(data.objects) ? (data.objects as Data[]) : [];
    const kept = objects.flatMap((o) => {
      if (o.type !== 'bbox') return [o];
      const box = snap(o.coordinates as Box, width, height);
      return box.width > 0 && box.height > 0 ? [{ ...o, coordinates: box }] : [];
    });
    return { ...data, objects: kept };
  }
}
