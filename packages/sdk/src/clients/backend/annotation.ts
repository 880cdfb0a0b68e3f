/** TODO(foundation): AnnotationClientMixin (client.md §8). */
import type { BackendClient } from './index.ts';

export type AnnotationClientMixin = {};

export const annotationMethods: AnnotationClientMixin & ThisType<BackendClient> = {};
