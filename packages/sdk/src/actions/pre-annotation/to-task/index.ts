/** ToTask pre-annotation action (to-task.md). */
export {
  AddTaskDataAction,
  TO_TASK_SUCCESS_MESSAGE,
  ToTaskAction,
  type ToTaskInit,
  type ToTaskOptions,
  type ToTaskResult,
} from './action.ts';
export {
  CATEGORY as TO_TASK_CATEGORY,
  ToTaskContext,
  type ToTaskFailure,
  type ToTaskMetrics,
} from './context.ts';
export {
  checkTaskObjectFormat,
  DEFAULT_DOWNLOAD_TIMEOUT_SECONDS,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  DefaultToTaskConverter,
  type ToTaskConverter,
} from './converter.ts';
export { CriticalError, PreAnnotationToTaskFailed } from './errors.ts';
export {
  DEFAULT_INFERENCE_TIMEOUT_SECONDS,
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_PREPROCESSOR_TIMEOUT_SECONDS,
  preProcessorResources,
} from './inference-strategy.ts';
export { TO_TASK_EVENTS, TO_TASK_MESSAGES } from './log-codes.ts';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_CONNECTION_FAILURES,
  type ToTaskParams,
  toTaskParamsSchema,
} from './params.ts';
export { pythonJson, redactUrl } from './records.ts';
export { ALLOWED_HOSTS_ENV } from './steps.ts';
