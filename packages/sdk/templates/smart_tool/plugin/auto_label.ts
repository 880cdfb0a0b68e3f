import { autoLabelParamsSchema, BaseAutoLabelAction, z } from 'synapse-sdk';
import { suggest } from './suggest.ts';

const Params = autoLabelParamsSchema.extend({
  image_url: z.string().min(1).describe('Image to label'),
  min_score: z.number().min(0).max(1).default(0.5).describe('Suggestions scoring less are dropped'),
});

type Suggestions = { annotations: Array<{ score: number }>; metadata: Record<string, unknown> };

/**
 * `auto_label`, a task: the suggested annotations of one image. With `plugin` and `version` the
 * neural-net plugin of that release infers on the platform (its `inference` action gets
 * `{json: {image_url}}`); without them the model in `suggest.ts` answers here. Either way the
 * suggestions under `min_score` are dropped.
 */
export class AutoLabelAction extends BaseAutoLabelAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  /** The request the served model reads (its `infer` body). */
  override handleInput(input: Record<string, unknown>) {
    return { json: { image_url: input.image_url } };
  }

  override async runInference(modelInput: Record<string, unknown>) {
    if (!this.params.plugin) return suggest(this.params.image_url);
    return super.runInference(modelInput);
  }

  override handleOutput(output: unknown) {
    const { annotations, metadata } = output as Suggestions;
    return { annotations: annotations.filter((a) => a.score >= this.params.min_score), metadata };
  }
}
