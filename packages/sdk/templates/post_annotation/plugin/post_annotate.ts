import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  assignment_id: z.number().int().describe('Assignment whose annotation was submitted'),
  data: z.object({ objects: z.array(z.record(z.string(), z.unknown())).default([]) }).passthrough(),
});

/** Returns the annotation data to keep: here, objects without a class are dropped. */
export class PostAnnotateAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override async execute() {
    const objects = this.params.data.objects.filter((o) => o.class_id !== undefined);
    return { ...this.params.data, objects };
  }
}
