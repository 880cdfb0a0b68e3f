/**
 * The Synapse platform contract, shared by the SDK (its client types and response checks) and the
 * local platform (its records and request checks): one zod schema per resource family in the
 * wire shape (snake_case), with each family's enums in their wire casing. Response schemas are
 * loose (`z.looseObject`): the real platform may add fields, and unknown keys must pass.
 * Beside the schemas, the run protocol (run-protocol.ts, model-token.ts): environment variables,
 * release code/checksum/route prefix, job output markers and the multiplexed model token.
 */
export * from './agent.ts';
export * from './agents.ts';
export * from './check.ts';
export * from './chunked-upload.ts';
export * from './data-collections.ts';
export * from './ground-truth.ts';
export * from './jobs.ts';
export * from './json.ts';
export * from './logs.ts';
export * from './models.ts';
export * from './plugins.ts';
export * from './projects.ts';
export * from './protocol.ts';
export * from './responses.ts';
export * from './serve-applications.ts';
export * from './storages.ts';
export * from './tasks.ts';
export * from './words.ts';
