/** Detections in the platform's task-object format (seed 000): what ToTask submits as task data. */
import type { Detection } from './detector.ts';

export interface TaskObject {
  id: string;
  class_id: number;
  type: 'bbox';
  coordinates: { x: number; y: number; width: number; height: number };
  properties: { confidence: number; label: string };
}

export function toTaskObjects(detections: Detection[]): { objects: TaskObject[] } {
  return {
    objects: detections.map((d, i) => ({
      id: `obj_${String(i + 1).padStart(3, '0')}`,
      class_id: d.classId,
      type: 'bbox',
      coordinates: { ...d.box },
      properties: { confidence: d.confidence, label: d.label },
    })),
  };
}
