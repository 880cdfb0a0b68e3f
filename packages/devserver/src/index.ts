/** synapse-devserver: the local Synapse platform. */

export type { Bootstrap } from './auth.ts';
export { DEV_EMAIL } from './auth.ts';
export type { DevContext } from './context.ts';
export type { Fault } from './faults.ts';
export { DEMO_PROJECT_TITLE, seedDemo } from './seed.ts';
export { type DevServer, type DevServerOptions, startDevServer } from './server.ts';
