/**
 * The plugin system's enums (plugins.md §2). Those with wire values (categories, run methods,
 * package managers, data types, log levels, message contexts) are the contract's (synapse-core)
 * as is the default run method of an action (the platform applies it too); they are re-exported
 * from here. The SDK's own are defined here: execution modes (a choice of the local executor,
 * never sent) and the lower-case job status constants.
 */
import { JOB_STATUSES as WIRE_JOB_STATUSES, type JobStatus as WireJobStatus } from 'synapse-core';

export {
  DATA_TYPES,
  type DataType,
  defaultMethodFor,
  LOG_LEVELS,
  type LogLevel,
  MESSAGE_CONTEXTS,
  type MessageContext,
  PACKAGE_MANAGERS,
  type PackageManager,
  PLUGIN_CATEGORIES,
  type PluginCategory,
  RUN_METHODS,
  type RunMethod,
} from 'synapse-core';

export const EXECUTION_MODES = ['local', 'task', 'job'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/**
 * The SDK constants' spelling (plugins.md §2.3) of the contract's job statuses, which are upper
 * case on the wire (synapse-core JOB_STATUSES); derived, so the list is defined once.
 */
export type JobStatus = Lowercase<WireJobStatus>;
export const JOB_STATUSES: readonly JobStatus[] = WIRE_JOB_STATUSES.map(
  (status) => status.toLowerCase() as JobStatus,
);
