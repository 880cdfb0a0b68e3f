#!/usr/bin/env node
// The job entrypoint (plugins.md §10.5), TypeScript run in place like the CLI. It exits with the
// run's code even when plugin code left timers or sockets open.
import { register } from 'tsx/esm/api';

// Started with an IPC channel (the process backend's), the job belongs to the process that started
// it: when the channel closes, that supervisor is gone (exited, or killed without a chance to stop
// its jobs), nobody follows the job any more, and it ends instead of running on as an orphan.
// `connected` is false when the channel closed while this module was loading.
const SUPERVISOR_GONE = 1;
if (process.connected === false) process.exit(SUPERVISOR_GONE);
if (process.channel) process.once('disconnect', () => process.exit(SUPERVISOR_GONE));

register();
const { runEntrypoint } = await import('../src/executors/entrypoint.ts');
process.exit(await runEntrypoint());
