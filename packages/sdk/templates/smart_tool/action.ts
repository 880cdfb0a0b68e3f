import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({
  image_url: z.string().describe('Image to label'),
});

/** Returns suggested annotations; call your model in `execute`. */
export class AutoLabelAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  async execute() {
    return { annotations: [], metadata: { image_url: this.params.image_url } };
  }
}
