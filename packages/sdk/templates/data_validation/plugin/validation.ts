import { ValidationAction, validationParamsSchema, z } from 'synapse-sdk';

const Params = validationParamsSchema.extend({
  data: z
    .object({
      image: z.object({ width: z.number().positive(), height: z.number().positive() }),
      objects: z.array(z.record(z.string(), z.unknown())).default([]),
    })
    .passthrough()
    .describe("A task's annotation data and its image's size in pixels"),
  classes: z
    .array(z.object({ id: z.number().int(), name: z.string() }))
    .min(1)
    .describe("The project's classes"),
});

type Box = { x: number; y: number; width: number; height: number };

const isBox = (c: unknown): c is Box =>
  typeof c === 'object' &&
  c !== null &&
  ['x', 'y', 'width', 'height'].every((k) => Number.isFinite((c as Record<string, unknown>)[k]));

/**
 * `validation`, a task: every bounding box lies inside its image and has one of the project's
 * classes. Each problem is one message naming the object; `status` is `success` when there is none.
 */
export class BoxValidation extends ValidationAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override validate() {
    const { image, objects } = this.params.data;
    const known = new Set(this.params.classes.map((c) => c.id));
    const errors: string[] = [];
    objects.forEach((o, i) => {
      if (o.type !== 'bbox') return;
      const name = `object ${typeof o.id === 'string' ? o.id : i}`;
      if (!known.has(o.class_id as number))
        errors.push(`${name}: unknown class ${JSON.stringify(o.class_id)}`);
      const box = o.coordinates;
      if (!isBox(box)) {
        errors.push(`${name}: coordinates are not a box {x, y, width, height}`);
      } else if (
        box.width <= 0 ||
        box.height <= 0 ||
        box.x < 0 ||
        box.y < 0 ||
        box.x + box.width > image.width ||
        box.y + box.height > image.height
      ) {
        errors.push(
          `${name}: box ${JSON.stringify(box)} is not inside the ${image.width}x${image.height} image`,
        );
      }
    });
    return errors;
  }
}
