/**
 * `synapse-sdk/clients`: the backend and agent clients, their errors and saved credentials, for
 * code that only talks to the platform. It loads none of the plugin framework, serving or
 * executors, so it starts faster than the package root, which exports all of this too.
 */
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
} from './agent/index.ts';
export * from './backend/index.ts';
export * from './credentials.ts';
export * from './errors.ts';
export {
  BaseClient,
  type ClientOptions,
  DEFAULT_RETRY,
  type FileInput,
  type HttpMethod,
  type RequestOptions,
  type RetryConfig,
  type TimeoutConfig,
} from './http.ts';
export type { ListResult, Page, PaginatedIterable, PaginateOptions } from './pagination.ts';
export {
  AllowedHostError,
  classifyAddress,
  DownloadPool,
  type HostRule,
  originRule,
  parseHostRules,
  type SafeDownloadOptions,
  type SafeDownloadResult,
  SafeFetchError,
  type SafeFetchRule,
  safeDownload,
} from './safe-fetch/index.ts';
export type { ChunkedUploadOptions, ChunkedUploadResult } from './upload.ts';
export type { QueryParams, QueryValue } from './url.ts';
export type { UrlConversion, UrlConverter, UrlDownloadConfig, UrlFunctionMap } from './url-conversion.ts';
