#!/usr/bin/env node
// The job entrypoint (plugins.md §10.5), compiled or from the sources like the CLI (launch.js). It
// exits with the run's code even when plugin code left timers or sockets open.
import { launch } from './launch.js';

const { runEntrypoint } = await launch('#entrypoint');
process.exit(await runEntrypoint());
