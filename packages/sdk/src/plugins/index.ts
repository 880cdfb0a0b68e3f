/** The plugin system's public API. */
export {
  type ActionClass,
  type ActionMeta,
  BaseAction,
  defineAction,
  dispatchAction,
  type FunctionAction,
  type ParamsSchema,
  type SchemaContext,
} from './action.ts';
export { createArchive, type PluginArchive } from './archive.ts';
export {
  type ActionConfig,
  deriveCode,
  loadPluginConfig,
  mergePackageManagerOptions,
  type PluginConfig,
  toConfigDict,
  validatePluginConfig,
} from './config.ts';
export { RuntimeContext, type RuntimeContextInit } from './context.ts';
export { PluginDiscovery } from './discovery.ts';
// `loadEntrypoint` is exported from actions/entrypoint.ts, which adds the SDK's stock adapters.
export { type ExportAdapter, type LoadEntrypointOptions, resolveEntrypoint } from './entrypoint.ts';
export {
  DATA_TYPES,
  type DataType,
  defaultMethodFor,
  EXECUTION_MODES,
  type ExecutionMode,
  JOB_STATUSES,
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
} from './enums.ts';
export { PluginEnvironment } from './environment.ts';
export * from './errors.ts';
export { type LogMessageTemplate, registerLogMessages, resolveLogMessage } from './log-messages.ts';
export { BaseLogger, ConsoleLogger, JobLogger, type JobLoggerOptions, NoOpLogger } from './logging/index.ts';
export { type PublishOptions, type PublishResult, publishPlugin } from './publish.ts';
export { type ScaffoldOptions, scaffoldPlugin } from './scaffold.ts';
export * from './steps/index.ts';
export { syncConfigFile } from './sync-config.ts';
export { type FormKitItem, zodToUiSchema } from './ui-schema.ts';
