import { BaseAction, z } from 'synapse-sdk';
import { suggest } from './suggest.ts';

const Params = z.object({
  image_url: z.string().min(1).describe('Image to label'),
});

/** `auto_label`, a task: the suggested annotations of one image. */
export class AutoLabelAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  override async execute() {
    return suggest(this.params.image_url);
  }
}
