/** `BaseInferenceAction` (inference.md §1) against the devserver: real model uploads and downloads. */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseInferenceAction, InferenceContext } from '../../src/actions/inference/index.ts';
import type { Model } from '../../src/clients/backend/models.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { RuntimeError } from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/index.ts';
import { BaseStep, type StepRegistry, StepResult } from '../../src/plugins/steps/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();

class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

let work: string;
let zipModel: Model;
let plainModel: Model;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'inference-action-'));
  const zipPath = join(work, 'weights.zip');
  await writeFile(
    zipPath,
    zipSync({
      'model.json': strToU8('{"scale": 2}'),
      'weights/layer.bin': new Uint8Array([1, 2, 3, 4]),
    }),
  );
  zipModel = await h.client.createModel({ name: 'zipped' }, { file: zipPath });
  const plainPath = join(work, 'model.onnx');
  await writeFile(plainPath, 'not a zip');
  plainModel = await h.client.createModel({ name: 'plain' }, { file: plainPath });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Params {
  model_id: number;
  inputs: Array<Record<string, unknown>>;
}

/** The seed's simple-mode action: the "model" scales each input's value by `model.json`'s scale. */
class ScaleInference extends BaseInferenceAction<Params> {
  static override actionName = 'inference';

  override async execute() {
    const info = await this.loadModel(this.params.model_id);
    this.setProgress(1, 3, this.progress.MODEL_LOAD);
    const results = await this.infer(info, this.params.inputs);
    this.setProgress(2, 3, this.progress.INFERENCE);
    this.setProgress(3, 3, this.progress.POSTPROCESS);
    await rm(info.path, { recursive: true, force: true });
    return { results };
  }

  override async infer(model: unknown, inputs: Array<Record<string, unknown>>) {
    const { path } = model as { path: string };
    const { scale } = JSON.parse(await readFile(join(path, 'model.json'), 'utf8')) as { scale: number };
    return inputs.map((input) => ({ prediction: (input.value as number) * scale }));
  }
}

function context(logger = new RecordingLogger()) {
  return new RuntimeContext({ client: h.client, logger });
}

async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as Error,
  );
}

describe('simple mode', () => {
  it('loads, infers and reports progress under the inference categories', async () => {
    const logger = new RecordingLogger();
    const result = await ScaleInference.dispatch(
      { model_id: zipModel.id, inputs: [{ value: 1 }, { value: 5 }] },
      context(logger),
    );
    expect(result).toEqual({ results: [{ prediction: 2 }, { prediction: 10 }] });
    const progress = logger.records.filter((r) => r.kind === 'progress');
    expect(progress.map((r) => [r.key, r.current, r.total])).toEqual([
      ['model_load', 1, 3],
      ['inference', 2, 3],
      ['postprocess', 3, 3],
    ]);
  });

  it('exposes the progress categories', () => {
    const action = new ScaleInference({ model_id: 1, inputs: [] }, context());
    expect(action.progress).toEqual({
      MODEL_LOAD: 'model_load',
      INFERENCE: 'inference',
      POSTPROCESS: 'postprocess',
    });
    expect(ScaleInference.category).toBe('neural_net');
  });
});

describe('model helpers', () => {
  it('getModel returns the metadata with the file URL, downloading nothing', async () => {
    const action = new ScaleInference({ model_id: zipModel.id, inputs: [] }, context());
    const model = await action.getModel(zipModel.id);
    expect(model.id).toBe(zipModel.id);
    expect(model.file).toMatch(/^https?:\/\//);
  });

  it('downloadModel extracts a zip into a new synapse_model_ temp dir', async () => {
    const action = new ScaleInference({ model_id: zipModel.id, inputs: [] }, context());
    const dir = await action.downloadModel(zipModel.id);
    try {
      expect(basename(dir)).toMatch(/^synapse_model_/);
      expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights']);
      expect([...(await readFile(join(dir, 'weights', 'layer.bin')))]).toEqual([1, 2, 3, 4]);
      expect(existsSync(join(dir, 'model.zip'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removes the temp folders a run's model downloads made when the run ends, even when it fails", async () => {
    const made: string[] = [];
    class Keeping extends ScaleInference {
      override async execute() {
        made.push((await this.loadModel(this.params.model_id)).path);
        if (this.params.inputs.length === 0) throw new Error('no inputs');
        return { results: [] };
      }
    }
    await new Keeping({ model_id: zipModel.id, inputs: [{ value: 1 }] }, context()).run();
    await failure(new Keeping({ model_id: zipModel.id, inputs: [] }, context()).run());
    expect(made).toHaveLength(2);
    for (const dir of made) expect(existsSync(dir)).toBe(false);
  });

  it('downloadModel creates outputDir recursively', async () => {
    const action = new ScaleInference({ model_id: zipModel.id, inputs: [] }, context());
    const target = join(work, 'a', 'b', 'model');
    expect(await action.downloadModel(zipModel.id, target)).toBe(target);
    expect(JSON.parse(await readFile(join(target, 'model.json'), 'utf8'))).toEqual({ scale: 2 });
  });

  it('keeps a file that is not a zip under its URL basename', async () => {
    const action = new ScaleInference({ model_id: plainModel.id, inputs: [] }, context());
    const target = join(work, 'plain');
    await action.downloadModel(plainModel.id, target);
    const [name] = await readdir(target);
    expect(name).toBe(basename(new URL(plainModel.file as string).pathname));
    expect(await readFile(join(target, name as string), 'utf8')).toBe('not a zip');
  });

  it('loadModel returns the metadata plus the local path', async () => {
    const action = new ScaleInference({ model_id: zipModel.id, inputs: [] }, context());
    const info = await action.loadModel(zipModel.id);
    try {
      expect(info).toMatchObject({ id: zipModel.id, name: 'zipped', file: zipModel.file });
      expect(existsSync(join(info.path, 'model.json'))).toBe(true);
    } finally {
      await rm(info.path, { recursive: true, force: true });
    }
  });

  it('rejects a model without a file URL', async () => {
    // The model record exists without a file (the backend allows it); the download must refuse it.
    const { models } = await h.admin('POST', '_emulator/fixtures', {
      models: [{ name: 'empty', file: null }],
    });
    const id = models[0] as number;
    const action = new ScaleInference({ model_id: id, inputs: [] }, context());
    const err = await failure(action.downloadModel(id));
    expect(err.message).toBe(`Model ${id} has no file URL`);
  });

  it('rejects an archive entry escaping the model directory, leaving nothing behind', async () => {
    const evilZip = join(work, 'evil.zip');
    await writeFile(evilZip, zipSync({ 'ok.txt': strToU8('ok'), '../evil.txt': strToU8('x') }));
    const evil = await h.client.createModel({ name: 'evil' }, { file: evilZip });
    const action = new ScaleInference({ model_id: evil.id, inputs: [] }, context());
    const target = join(work, 'evil-target');
    const err = await failure(action.downloadModel(evil.id, target));
    expect(err.message).toBe(
      `Model archive entry "../evil.txt" refused: unsafe path (absolute, drive letter, backslash, NUL or '..' segment)`,
    );
    expect(existsSync(join(work, 'evil.txt'))).toBe(false);
    expect(await readdir(target)).toEqual([]);
  });

  it('needs a client', async () => {
    const action = new ScaleInference({ model_id: 1, inputs: [] }, new RuntimeContext());
    const err = await failure(action.getModel(1));
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe(
      'No client in context. Either provide a client via RuntimeContext or override the helper methods (loadModel, getModel).',
    );
  });

  it('infer must be overridden', () => {
    class Bare extends BaseInferenceAction {
      static override actionName = 'inference';
    }
    const action = new Bare({}, context());
    expect(() => action.infer(null, [])).toThrow(new Error('Override infer() to implement inference logic.'));
  });
});

describe('step mode', () => {
  class LoadModelStep extends BaseStep<InferenceContext> {
    constructor(private readonly action: BaseInferenceAction) {
      super();
    }
    get name() {
      return 'load_model';
    }
    get progressWeight() {
      return 0.3;
    }
    async execute(ctx: InferenceContext) {
      const info = await this.action.loadModel(ctx.modelId as number);
      ctx.model = info;
      ctx.modelPath = info.path;
      ctx.requests = (ctx.params.inputs as Array<Record<string, unknown>>) ?? [];
      return new StepResult({ success: true });
    }
  }

  class InferStep extends BaseStep<InferenceContext> {
    get name() {
      return 'inference';
    }
    get progressWeight() {
      return 0.7;
    }
    async execute(ctx: InferenceContext) {
      const { scale } = JSON.parse(await readFile(join(ctx.modelPath as string, 'model.json'), 'utf8'));
      for (const request of ctx.requests) {
        ctx.results.push({ prediction: (request.value as number) * scale });
        ctx.processedCount += 1;
      }
      await rm(ctx.modelPath as string, { recursive: true, force: true });
      return new StepResult({ success: true });
    }
  }

  class StepInference extends BaseInferenceAction<Params> {
    static override actionName = 'inference';
    override setupSteps(registry: StepRegistry<InferenceContext>) {
      registry.register(new LoadModelStep(this as unknown as BaseInferenceAction));
      registry.register(new InferStep());
    }
  }

  it('returns the orchestrator result plus processed_count and results', async () => {
    const result = await StepInference.dispatch(
      { model_id: zipModel.id, inputs: [{ value: 1 }, { value: 2 }, { value: 3 }] },
      context(),
    );
    expect(result).toEqual({
      success: true,
      steps_executed: 2,
      steps_total: 2,
      processed_count: 3,
      results: [{ prediction: 2 }, { prediction: 4 }, { prediction: 6 }],
    });
  });

  it('InferenceContext reads the model id from model_id, else model', () => {
    const rt = context();
    const ctxA = new InferenceContext(rt, { model_id: 5, model: 6 });
    const ctxB = new InferenceContext(rt, { model: 6 });
    const ctxC = new InferenceContext(rt, {});
    expect([ctxA.modelId, ctxB.modelId, ctxC.modelId]).toEqual([5, 6, null]);
    expect(ctxC).toMatchObject({
      model: null,
      modelPath: null,
      requests: [],
      results: [],
      batchSize: 1,
      processedCount: 0,
    });
  });
});
