/** Data-validation actions (plugins.md §14). */
export {
  VALIDATION_CRITICAL_MESSAGE,
  ValidationAction,
  type ValidationParams,
  type ValidationResult,
  validationParamsSchema,
  validationResultSchema,
} from './action.ts';
