/** synapse-sdk: clients for the Synapse platform, and the plugin framework. */
export { z } from 'zod';
export * from './actions/inference/index.ts';
export * from './actions/pre-annotation/index.ts';
export {
  DEFAULT_EXTRACTION_LIMITS,
  ExtractionError,
  type ExtractionLimits,
  type ExtractOptions,
  extractArchive,
  resolveExtractionLimits,
} from './archive/extract.ts';
export {
  AgentClient,
  type AgentClientOptions,
  type AgentServeApplication,
  type FeasibilityPayload,
  type FeasibilityResult,
  type RayJob,
  type RunDebugOptions,
  type RunReleaseOptions,
  type TailOptions,
  type TailProtocol,
} from './clients/agent/index.ts';
export * from './clients/backend/index.ts';
export * from './clients/credentials.ts';
export * from './clients/errors.ts';
export {
  BaseClient,
  type ClientOptions,
  DEFAULT_RETRY,
  type FileInput,
  type HttpMethod,
  type RequestOptions,
  type RetryConfig,
  type TimeoutConfig,
} from './clients/http.ts';
export type { ListResult, Page, PaginatedIterable, PaginateOptions } from './clients/pagination.ts';
export {
  AllowedHostError,
  classifyAddress,
  type HostRule,
  originRule,
  parseHostRules,
  type SafeDownloadOptions,
  type SafeDownloadResult,
  SafeFetchError,
  type SafeFetchRule,
  safeDownload,
} from './clients/safe-fetch/index.ts';
export type { ChunkedUploadOptions, ChunkedUploadResult } from './clients/upload.ts';
export type { QueryParams, QueryValue } from './clients/url.ts';
export type {
  UrlConversion,
  UrlConverter,
  UrlDownloadConfig,
  UrlFunctionMap,
} from './clients/url-conversion.ts';
export * from './executors/index.ts';
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
