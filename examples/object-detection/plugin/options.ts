/**
 * `pre_processor_params` (seed 000) to detector options: thresholds at the top level or under
 * `post_processing`, and `model_config` with `batch_size` and `device`.
 */
import { isObject } from 'synapse-sdk';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from './detector.ts';
import { RUNTIMES, type RuntimeName } from './network.ts';

export interface ModelConfig {
  batchSize: number;
  /** What was asked for; the detector runs on the CPU whatever it is (see `cpuFallbackWarning`). */
  device: string;
  /** The runtime asked for; undefined lets the detector take the fastest one available. */
  runtime?: RuntimeName;
}

function number(name: string, value: unknown, fallback: number, min: number, max = Infinity): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `between ${min} and ${max}`;
    throw new Error(`${name} must be a number ${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function integer(name: string, value: unknown, fallback: number, min: number): number {
  const n = number(name, value, fallback, min);
  if (!Number.isInteger(n))
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function classFilter(value: unknown): number[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(`class_filter must be a list of class ids (integers >= 1), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws an `Error` naming the first invalid parameter. */
export function detectOptions(params: Record<string, unknown>): DetectOptions {
  const post = isObject(params.post_processing) ? params.post_processing : {};
  const d = DEFAULT_DETECT_OPTIONS;
  return {
    confidenceThreshold: number(
      'confidence_threshold',
      params.confidence_threshold,
      d.confidenceThreshold,
      0,
      1,
    ),
    nmsThreshold: number('nms_threshold', params.nms_threshold ?? post.nms_threshold, d.nmsThreshold, 0, 1),
    classFilter: classFilter(params.class_filter),
    minObjectSize: number('min_object_size', params.min_object_size ?? post.min_size, d.minObjectSize, 0),
    maxObjects: integer('max_objects', params.max_objects, d.maxObjects, 1),
  };
}

export function modelConfig(params: Record<string, unknown>): ModelConfig {
  const config = params.model_config ?? {};
  if (!isObject(config)) throw new Error(`model_config must be an object, got ${JSON.stringify(config)}`);
  const device = config.device ?? 'cpu';
  if (typeof device !== 'string')
    throw new Error(`model_config.device must be a string, got ${JSON.stringify(device)}`);
  const runtime = config.runtime ?? undefined;
  if (runtime !== undefined && !RUNTIMES.includes(runtime as RuntimeName)) {
    throw new Error(
      `model_config.runtime must be one of ${RUNTIMES.join(', ')}, got ${JSON.stringify(runtime)}`,
    );
  }
  return {
    batchSize: integer('model_config.batch_size', config.batch_size, 1, 1),
    device,
    ...(runtime === undefined ? {} : { runtime: runtime as RuntimeName }),
  };
}

/** The warning for a device this CPU-only runtime cannot use, or null for the CPU. */
export function cpuFallbackWarning(device: string): string | null {
  if (device === 'cpu') return null;
  return `Device '${device}' is not available here (no GPU backend): running on the CPU`;
}
