/** ToTask log codes (to-task.md §7), registered in the global log-message registry. */
import { type LogMessageTemplate, registerLogMessages } from '../../../plugins/log-messages.ts';

/** Channel M codes: logged as `message` events through `logMessageWithCode`. */
export const TO_TASK_MESSAGES: Record<string, LogMessageTemplate> = {
  TO_TASK_STARTED: { template: 'ToTask action started.', level: 'info' },
  TO_TASK_COMPLETED: { template: 'ToTask action completed successfully.', level: 'success' },
  TO_TASK_FAILED: { template: 'ToTask action failed: {}', level: 'danger' },
  // A stop is not a failure: the counts say what was done; untouched tasks stay as they were.
  TO_TASK_STOPPED: {
    template: 'ToTask action stopped at step {}. Success: {}, Failed: {}, Not processed: {}',
    level: 'warning',
  },
  STEP_STARTED: { template: 'Starting workflow step: {}', level: 'info' },
  STEP_COMPLETED: { template: 'Completed workflow step: {}', level: 'info' },
  STEP_FAILED: { template: 'Failed workflow step {}: {}', level: 'danger' },
  INVALID_PROJECT_RESPONSE: { template: 'Invalid project response received.', level: 'danger' },
  NO_DATA_COLLECTION: { template: 'Project does not have a data collection.', level: 'danger' },
  INVALID_DATA_COLLECTION_RESPONSE: {
    template: 'Invalid data collection response received.',
    level: 'danger',
  },
  VALIDATION_FAILED: { template: 'Validation failed: {}', level: 'danger' },
  UNSUPPORTED_METHOD: { template: 'Unsupported annotation method: {}', level: 'danger' },
  TARGET_SPEC_REQUIRED: {
    template: 'Target specification name is required for file annotation method.',
    level: 'danger',
  },
  TARGET_SPEC_NOT_FOUND: {
    template: 'Target specification name "{}" not found in file specifications',
    level: 'danger',
  },
  NO_PREPROCESSOR_ID: {
    template: 'Pre-processor ID is required for inference annotation method',
    level: 'danger',
  },
  PREPROCESSOR_DEPLOYING: {
    template: 'Pre-processor deployment started, waiting for it to be ready...',
    level: 'info',
  },
  PREPROCESSOR_WAITING: { template: 'Waiting for pre-processor to start... ({}s / {}s)', level: 'info' },
  PREPROCESSOR_STARTED: { template: 'Pre-processor started successfully', level: 'success' },
  NO_TASKS_FOUND: { template: 'Tasks to annotate not found.', level: 'warning' },
  ANNOTATING_DATA: { template: 'Annotating data to tasks...', level: 'info' },
  CRITICAL_ERROR: {
    template: 'Critical error occured while processing task. Stopping the job.',
    level: 'danger',
  },
  BACKEND_UNREACHABLE: {
    template: 'The backend is unreachable: {} consecutive connection failures (last: {}). Stopping the job.',
    level: 'danger',
  },
  ALLOWED_HOSTS_INVALID: { template: 'Invalid allowed hosts: {}', level: 'danger' },
  ANNOTATION_COMPLETED: { template: 'Annotation completed. Success: {}, Failed: {}', level: 'info' },
  TASK_FAILED: { template: '[Task {}] Failed: {}', level: 'danger' },
  ROLLBACK_FAILED: { template: 'Failed to rollback step {}: {}', level: 'warning' },
  ROLLBACK_ACTION_FAILED: { template: 'Failed to execute rollback action: {}', level: 'warning' },
  PROGRESS_UPDATE_FAILED: { template: 'Progress update failed: {}', level: 'warning' },
  METRICS_RECORDING_FAILED: { template: 'Metrics recording failed: {}', level: 'warning' },
  METRICS_UPDATE_FAILED: { template: 'Metrics update failed: {}', level: 'warning' },
  METRICS_FINALIZATION_FAILED: { template: 'Metrics finalization failed: {}', level: 'warning' },
};

/** Channel E codes: logged as `annotate_task_event` records (per task). */
export const TO_TASK_EVENTS: Record<string, LogMessageTemplate> = {
  TASK_PROCESSING_FAILED: { template: 'Failed to process task {}: {}', level: 'danger' },
  INVALID_TASK_RESPONSE: { template: 'Invalid task response received for task {}', level: 'danger' },
  NO_DATA_UNIT: { template: 'Task does not have a data unit', level: 'danger' },
  NO_DATA_UNIT_FILES: { template: 'Data unit does not have files', level: 'danger' },
  PRIMARY_IMAGE_URL_NOT_FOUND: {
    template: 'Primary image URL not found in task data for task {}',
    level: 'danger',
  },
  FILE_SPEC_NOT_FOUND: { template: 'File specification not found for task {}', level: 'danger' },
  FILE_ORIGINAL_NAME_NOT_FOUND: { template: 'File original name not found for task {}', level: 'danger' },
  URL_NOT_FOUND: { template: 'URL not found for task {}', level: 'danger' },
  FETCH_DATA_FAILED: { template: 'Failed to fetch data from URL: {} for task {}', level: 'danger' },
  DATA_DOWNLOAD_FAILED: { template: 'Failed to download data for task {}: {}', level: 'danger' },
  JSON_DECODE_FAILED: { template: 'Failed to decode JSON data for task {}: {}', level: 'danger' },
  CONVERT_DATA_FAILED: { template: 'Failed to convert data to task object: {} for task {}', level: 'danger' },
  ANNOTATION_SUBMISSION_FAILED: {
    template: 'Failed to submit annotation data for task {}: {}',
    level: 'danger',
  },
  INFERENCE_PREPROCESSOR_FAILED: {
    template: 'Inference pre processor failed for task {}: {}',
    level: 'danger',
  },
  // Registered but unused by the default flow (kept for custom strategies).
  TARGET_SPEC_REQUIRED_FOR_TASK: {
    template: 'Target specification name is required for file annotation method for task {}',
    level: 'danger',
  },
  UNSUPPORTED_METHOD_FOR_TASK: { template: 'Unsupported annotation method: {} for task {}', level: 'danger' },
  PREPROCESSOR_ID_REQUIRED: {
    template: 'Pre-processor ID is required for inference annotation method for task {}',
    level: 'danger',
  },
  INFERENCE_PROCESSING_FAILED: { template: 'Failed to process inference for task {}: {}', level: 'danger' },
  ANNOTATING_INFERENCE_DATA: { template: 'Annotating data to tasks using inference...', level: 'info' },
  INFERENCE_ANNOTATION_COMPLETED: {
    template: 'Inference annotation completed. Success: {}, Failed: {}',
    level: 'info',
  },
  TARGET_SPEC_URL_NOT_FOUND: {
    template: 'Target specification URL not found for {} in task {}',
    level: 'danger',
  },
  DATA_EXTRACTION_FAILED: { template: 'Data extraction failed: {}', level: 'danger' },
};

registerLogMessages({ ...TO_TASK_MESSAGES, ...TO_TASK_EVENTS });
