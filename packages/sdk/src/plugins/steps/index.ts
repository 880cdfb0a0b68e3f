/** Step workflows (plugins.md §8). */
export { BaseStep, BaseStepContext, type StepRuntimeContext } from './base.ts';
export {
  Orchestrator,
  type OrchestratorOptions,
  type OrchestratorResult,
  type ProgressCallback,
  StepFailedError,
  type StepHooks,
} from './orchestrator.ts';
export { StepRegistry } from './registry.ts';
export { StepResult, type StepResultInit } from './result.ts';
export { LoggingStep, TimingStep, ValidationStep, type Validator } from './wrappers.ts';
