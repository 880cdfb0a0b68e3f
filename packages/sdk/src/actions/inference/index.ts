/** Inference actions (inference.md §1, §2, §6, §7): batch inference, serve deployments, remote inference. */
export { type CapacityGateOptions, checkServeCapacity } from './capacity-gate.ts';
export {
  BaseDeploymentAction,
  DEPLOYMENT_PROGRESS,
  DeploymentContext,
  NO_ENTRYPOINT_MESSAGE,
  parseRequirements,
} from './deployment-action.ts';
export {
  defaultServeAppName,
  type InferRemoteParams,
  inferRemote,
  SERVE_TIMEOUT,
  validateInferRemoteParams,
} from './infer-remote.ts';
export {
  BaseInferenceAction,
  INFERENCE_PROGRESS,
  InferenceContext,
  type InferenceRecord,
  type LoadedModel,
} from './inference-action.ts';
export {
  DEFAULT_MODEL_LIMITS,
  type DownloadOptions,
  downloadAndExtractModel,
  ModelArchiveError,
} from './model-archive.ts';
