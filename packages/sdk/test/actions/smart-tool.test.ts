/**
 * `BaseAutoLabelAction` (plugins.md §14 "Smart tool") against the shared local platform: the
 * neural-net plugin's `inference` answers its run fixture there, so the three phases, the hooks,
 * the progress records and the errors are the action's own over real HTTP. (The served path, a
 * deployed model answering `auto_label`, is the smart-tool template's platform test.)
 */
import { describe, expect, it } from 'vitest';
import { AUTO_LABEL_PROGRESS, BaseAutoLabelAction } from '../../src/actions/smart-tool/index.ts';
import { dispatchAction } from '../../src/plugins/action.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { PluginEnvironment } from '../../src/plugins/environment.ts';
import { RuntimeError } from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/index.ts';
import { fixtureRelease, useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();

class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

function context(logger = new RecordingLogger()) {
  const env = new PluginEnvironment({ SYNAPSE_AGENT_ID: String(h.server.credentials.agentId) });
  return new RuntimeContext({ client: h.client, env, logger });
}

const PREDICTION = { predictions: [{ box: [1, 2, 3, 4], label: 'car', score: 0.8 }] };

/** The model's predictions become annotations; the input names the image for the model. */
class CarLabeler extends BaseAutoLabelAction {
  override handleInput(input: Record<string, unknown>) {
    return { json: { image: input.file_url } };
  }
  override handleOutput(output: unknown) {
    const { predictions } = output as typeof PREDICTION;
    return { annotations: predictions.map((p) => ({ type: 'bbox', label: p.label, coordinates: p.box })) };
  }
}

describe('BaseAutoLabelAction', () => {
  it('runs handleInput, the platform inference and handleOutput, reporting each phase', async () => {
    const { code } = await fixtureRelease(h, {
      actions: { inference: { method: 'serve', entrypoint: 'a.B' } },
    });
    await h.admin('PUT', `_emulator/run_fixtures/${code}/inference`, PREDICTION);
    const logger = new RecordingLogger();
    const params = { plugin: code, version: '1.0.0', model_id: 3, file_url: 'https://x/a.jpg' };
    const result = await dispatchAction(CarLabeler, params, context(logger));
    expect(result).toEqual({
      annotations: [{ type: 'bbox', label: 'car', coordinates: [1, 2, 3, 4] }],
      metadata: {},
    });
    const progress = logger.records.flatMap((r) =>
      r.kind === 'progress' ? [[r.key, r.current, r.total]] : [],
    );
    expect(progress).toEqual([
      [AUTO_LABEL_PROGRESS.INPUT_TRANSFORM, 1, 3],
      [AUTO_LABEL_PROGRESS.INFERENCE, 2, 3],
      [AUTO_LABEL_PROGRESS.OUTPUT_TRANSFORM, 3, 3],
    ]);
  });

  it('keeps the input and the output where the hooks return undefined', async () => {
    const { code } = await fixtureRelease(h, {
      actions: { inference: { method: 'serve', entrypoint: 'a.B' } },
    });
    await h.admin('PUT', `_emulator/run_fixtures/${code}/inference`, { annotations: [{ id: 1 }] });
    const result = await dispatchAction(BaseAutoLabelAction, { plugin: code, version: '1.0.0' }, context());
    // The output lacked `metadata`: the result has both keys.
    expect(result).toEqual({ annotations: [{ id: 1 }], metadata: {} });
  });

  it('needs plugin and version for the default inference, and says so', async () => {
    await expect(dispatchAction(BaseAutoLabelAction, { version: '1.0.0' }, context())).rejects.toThrow(
      /^params\.plugin and params\.version are required for inference\.$/,
    );
  });

  it('wraps a failed inference, naming the way out', async () => {
    const run = dispatchAction(BaseAutoLabelAction, { plugin: 'no-such-plugin', version: '9' }, context());
    await expect(run).rejects.toBeInstanceOf(RuntimeError);
    await expect(run).rejects.toThrow(
      /^Inference failed: .+\. Override runInference\(\) to implement custom inference\.$/,
    );
  });

  it('refuses params of the wrong type before anything runs', async () => {
    await expect(
      dispatchAction(BaseAutoLabelAction, { plugin: 3, model_id: 'x' }, context()),
    ).rejects.toThrow(/Parameter validation failed: plugin: Input should be a valid string; model_id: /);
  });
});
