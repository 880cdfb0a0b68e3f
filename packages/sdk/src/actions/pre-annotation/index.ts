/** Pre-annotation actions. */
export * from './to-task/index.ts';
