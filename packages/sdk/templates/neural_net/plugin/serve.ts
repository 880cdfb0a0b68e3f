/**
 * `inference`, a serve deployment: `POST /` with `{"inputs": [[x1, x2], ...]}` answers
 * `{"predictions": [{"label": ..., "score": ...}, ...]}`. `synapse serve` runs it on this machine;
 * the `deployment` action runs it on the platform's agent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BaseServeDeployment,
  currentMultiplexedModelId,
  type Model,
  ServeRequestError,
  z,
} from 'synapse-sdk';
import { type LinearModel, predict, TOY_MODEL } from './model.ts';

const Request = z.object({
  inputs: z.array(z.array(z.number())).min(1),
});

export class Predictor extends BaseServeDeployment {
  /** A registered model, downloaded by the SDK into `info.path`: here its `model.json`. */
  protected override async _getModel(info: Model & { path: string }): Promise<LinearModel> {
    return JSON.parse(await readFile(join(info.path, 'model.json'), 'utf8'));
  }

  override async infer(body: unknown) {
    const request = Request.safeParse(body);
    if (!request.success) {
      const problems = request.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      throw new ServeRequestError(`Invalid request: ${problems.join('; ')}`, 400);
    }
    // A request that selects a registered model (its serve_multiplexed_model_id header) gets it,
    // loaded once per replica; any other gets the toy model.
    const model = currentMultiplexedModelId() ? ((await this.getModel()) as LinearModel) : TOY_MODEL;
    return { predictions: request.data.inputs.map((input) => predict(model, input)) };
  }
}
