/**
 * The smart tool's model: the annotations it suggests for an image. Replace the body with a call to
 * yours; this one is deterministic (a box over the image's centre, and a faint one in its corner),
 * so the tests can check it.
 */
export interface Suggestion {
  annotations: Array<{
    label: string;
    bbox: { x: number; y: number; width: number; height: number };
    score: number;
  }>;
  metadata: { image_url: string };
}

export function suggest(imageUrl: string): Suggestion {
  return {
    annotations: [
      { label: 'object', bbox: { x: 0.25, y: 0.25, width: 0.5, height: 0.5 }, score: 0.9 },
      { label: 'object', bbox: { x: 0, y: 0, width: 0.1, height: 0.1 }, score: 0.2 },
    ],
    metadata: { image_url: imageUrl },
  };
}
