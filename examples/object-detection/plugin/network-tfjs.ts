/**
 * The network on TensorFlow.js with its WebAssembly backend (SIMD; TensorFlow.js keeps its threaded
 * build off in Node). Always available: it runs the graph model exactly as the package ships it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { MODEL_FILE, type Network, ROW } from './network.ts';

let backend: Promise<void> | null = null;

/** One WebAssembly backend per process (TensorFlow.js keeps its engine global). */
function useWasmBackend(): Promise<void> {
  backend ??= (async () => {
    const wasm = createRequire(import.meta.url).resolve(
      '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    );
    setWasmPaths(`${dirname(wasm)}/`);
    if (!(await tf.setBackend('wasm')))
      throw new Error('The WebAssembly backend of TensorFlow.js failed to start');
    await tf.ready();
  })();
  return backend;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: { inputs?: Record<string, TensorInfo>; outputs?: Record<string, TensorInfo> };
}
interface TensorInfo {
  name: string;
  tensorShape?: { dim?: Array<{ size: string }> };
}
const dims = (t: TensorInfo) => (t.tensorShape?.dim ?? []).map((d) => Number(d.size));

export async function loadTfjsNetwork(dir: string): Promise<Network> {
  await useWasmBackend();
  const json = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8')) as ModelJson;
  const weights = await Promise.all(
    json.weightsManifest.flatMap((group) => group.paths).map((p) => readFile(join(dir, p))),
  );
  const data = Buffer.concat(weights);
  const input = Object.values(json.signature?.inputs ?? {})[0];
  const output = Object.values(json.signature?.outputs ?? {}).find((t) => {
    const d = dims(t);
    return d.length === 3 && d[2] === ROW;
  });
  if (!input || !output) throw new Error(`${MODEL_FILE} has no [1, N, ${ROW}] detections output`);
  const model = await loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  });
  const size = dims(input)[1];
  return {
    runtime: 'tfjs',
    inputSize: size,
    async run(pixels) {
      const result = tf.tidy(() => model.execute(tf.tensor4d(pixels, [1, size, size, 3]), output.name));
      try {
        return (await (result as tf.Tensor).data()) as Float32Array;
      } finally {
        (result as tf.Tensor).dispose();
      }
    },
    async dispose() {
      model.dispose();
    },
  };
}
