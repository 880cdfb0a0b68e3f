/**
 * `synapse-core/protocol`: the run protocol alone (run-protocol.ts, model-token.ts), without the
 * schemas and so without zod. The SDK's environment module, which its clients load, imports it from
 * here: `synapse-sdk/clients` stays free of zod, which it loads only to check a response.
 */
export * from './model-token.ts';
export * from './run-protocol.ts';
