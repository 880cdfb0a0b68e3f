/**
 * The network on ONNX Runtime for Node (native CPU kernels): the same graph,
 * converted offline from the TensorFlow.js model (scripts/convert-onnx.sh). `onnxruntime-node` is
 * an optional dependency; without it, or without the model's ONNX file, the detector uses
 * TensorFlow.js.
 */
import { join } from 'node:path';
import { type Network, ONNX_FILE, ROW } from './network.ts';

type Ort = typeof import('onnxruntime-node');

/** ONNX Runtime, or null when it is not installed (or its binary does not load here). */
export function importOnnxRuntime(): Promise<Ort | null> {
  // Its Linux build sends usage telemetry unless told not to, keeping a device id under
  // ~/.cache/Microsoft and an event store and a log in the temp folder. A plugin must neither call
  // out nor leave files behind, and there is no API for it: the library reads this variable when
  // it loads, so it is set before the first import (an explicit setting is respected).
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  return import('onnxruntime-node').then(
    (ort) => ort,
    () => null,
  );
}

export interface OnnxOptions {
  /**
   * Threads of one inference (default 1). One thread is already several times faster than
   * TensorFlow.js and leaves the other cores to decoding, the platform and other replicas; more
   * threads shorten one inference on an idle machine but wait on each other on a busy one (each
   * layer ends when its slowest thread does), which made them slower than one on a loaded 2-core
   * machine (bench/detector.ts prints both).
   */
  threads?: number;
}

export async function loadOnnxNetwork(dir: string, { threads = 1 }: OnnxOptions = {}): Promise<Network> {
  const ort = await importOnnxRuntime();
  if (!ort) throw new Error('onnxruntime-node is not installed (npm install onnxruntime-node)');
  const session = await ort.InferenceSession.create(join(dir, ONNX_FILE), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const [input] = session.inputMetadata;
  const [output] = session.outputMetadata;
  const shape = input?.isTensor ? input.shape : [];
  const size = shape[1];
  if (typeof size !== 'number' || shape[2] !== size || shape[3] !== 3 || !output) {
    await session.release();
    throw new Error(`${ONNX_FILE} does not take one [1, N, N, 3] picture`);
  }
  return {
    runtime: 'onnx',
    inputSize: size,
    async run(pixels) {
      const feed = new ort.Tensor('float32', pixels, [1, size, size, 3]);
      const result = (await session.run({ [input.name]: feed }))[output.name];
      if (result.dims.length !== 3 || result.dims[2] !== ROW)
        throw new Error(`${ONNX_FILE} answered [${result.dims}], not [1, N, ${ROW}] detections`);
      return result.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}
