import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  data: z.record(z.string(), z.unknown()).describe('Annotation data to check'),
});

/** Lists every problem of the data; `status` is `success` when there is none. */
export class ValidationAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override async execute() {
    const objects = Array.isArray(this.params.data.objects) ? this.params.data.objects : [];
    const errors = objects.flatMap((o: { id?: unknown }, i: number) =>
      o?.id ? [] : [`object ${i} has no id`],
    );
    return { status: errors.length === 0 ? 'success' : 'failed', errors };
  }
}
