/** Inference actions (inference.md §1, §2, §6, §7): batch inference, serve deployments, remote inference. */

export {
  DEFAULT_MODEL_LIMITS,
  type DownloadOptions,
  downloadAndExtractModel,
  ModelArchiveError,
} from '../../archive/model-archive.ts';
export {
  defaultServeAppName,
  type InferRemoteParams,
  inferRemote,
  SERVE_TIMEOUT,
  validateInferRemoteParams,
} from '../../serve/infer-remote.ts';
export { type CapacityGateOptions, checkServeCapacity } from './capacity-gate.ts';
export {
  BaseDeploymentAction,
  DEPLOYMENT_PROGRESS,
  DeploymentContext,
  NO_ENTRYPOINT_MESSAGE,
  parseRequirements,
} from './deployment-action.ts';
export {
  BaseInferenceAction,
  INFERENCE_PROGRESS,
  InferenceContext,
  type InferenceRecord,
  type LoadedModel,
} from './inference-action.ts';
