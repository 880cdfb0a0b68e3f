/** Post-annotation actions (plugins.md §14). */
export { PostAnnotationAction, type PostAnnotationParams, postAnnotationParamsSchema } from './action.ts';
