/** Smart-tool actions (plugins.md §14). */
export {
  AUTO_LABEL_PROGRESS,
  AutoLabelContext,
  type AutoLabelParams,
  type AutoLabelResult,
  autoLabelParamsSchema,
  autoLabelResultSchema,
  BaseAutoLabelAction,
} from './action.ts';
