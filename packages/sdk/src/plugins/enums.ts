/** The plugin system's enums (plugins.md §2): values are the wire strings. */
import { JOB_STATUSES as WIRE_JOB_STATUSES, type JobStatus as WireJobStatus } from 'synapse-core';

export const PLUGIN_CATEGORIES = [
  'neural_net',
  'export',
  'upload',
  'smart_tool',
  'post_annotation',
  'pre_annotation',
  'data_validation',
  'custom',
] as const;
export type PluginCategory = (typeof PLUGIN_CATEGORIES)[number];

export const RUN_METHODS = ['job', 'task', 'serve', 'restapi'] as const;
export type RunMethod = (typeof RUN_METHODS)[number];

export const EXECUTION_MODES = ['local', 'task', 'job'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export const PACKAGE_MANAGERS = ['pip', 'uv'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

export const DATA_TYPES = ['image', 'text', 'video', 'pcd', 'audio'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/**
 * The SDK constants' spelling (plugins.md §2.3) of the contract's job statuses, which are upper
 * case on the wire (synapse-core JOB_STATUSES); derived, so the list is defined once.
 */
export type JobStatus = Lowercase<WireJobStatus>;
export const JOB_STATUSES: readonly JobStatus[] = WIRE_JOB_STATUSES.map(
  (status) => status.toLowerCase() as JobStatus,
);

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MESSAGE_CONTEXTS = ['info', 'success', 'warning', 'danger', 'error'] as const;
export type MessageContext = (typeof MESSAGE_CONTEXTS)[number];

/** The run method an action gets when `update-config` adds it, or for code-only plugins. */
export function defaultMethodFor(action: string): RunMethod {
  if (action === 'inference') return 'serve';
  const jobs = [
    'upload',
    'export',
    'download',
    'convert',
    'train',
    'test',
    'deployment',
    'add_task_data',
    'to_task',
  ];
  return jobs.includes(action) ? 'job' : 'task';
}
