#!/usr/bin/env node
// The job entrypoint (plugins.md §10.5), TypeScript run in place like the CLI. It exits with the
// run's code even when plugin code left timers or sockets open.
import { register } from 'tsx/esm/api';

register();
const { runEntrypoint } = await import('../src/executors/entrypoint.ts');
process.exit(await runEntrypoint());
