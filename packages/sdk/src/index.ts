/** synapse-sdk: clients for the Synapse platform, and the plugin framework. */
// The contract's JSON-object guard, for plugins that check what they read from the platform.
export { isObject } from 'synapse-core';
export { z } from 'zod';
export { loadEntrypoint, STOCK_EXPORT_ADAPTERS } from './actions/entrypoint.ts';
export * from './actions/export/index.ts';
export * from './actions/inference/index.ts';
export * from './actions/post-annotation/index.ts';
export * from './actions/pre-annotation/index.ts';
export * from './actions/smart-tool/index.ts';
export * from './actions/validation/index.ts';
export {
  DEFAULT_EXTRACTION_LIMITS,
  ExtractionError,
  type ExtractionLimits,
  type ExtractOptions,
  extractArchive,
  resolveExtractionLimits,
} from './archive/extract.ts';
export * from './clients/index.ts';
export * from './environment.ts';
export * from './executors/index.ts';
export * from './formats/index.ts';
export * from './plugins/index.ts';
export {
  isSecretKey,
  MASK,
  MIN_KNOWN_SECRET_LENGTH,
  REDACTED,
  type RedactOptions,
  redactText,
  redactValue,
  SecretSet,
} from './redact.ts';
export * from './serve/index.ts';
export { RayServeBackend, type RayServeBackendOptions } from './serve/ray/backend.ts';
export * from './storage/index.ts';
