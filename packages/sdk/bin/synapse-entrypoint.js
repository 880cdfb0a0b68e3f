#!/usr/bin/env node
// The job entrypoint (plugins.md §10.5), compiled or from the sources like the CLI (launch.js). It
// exits with the run's code even when plugin code left timers or sockets open.
import { launch } from './launch.js';

// Started with an IPC channel (the process backend's), the job belongs to the process that started
// it: when the channel closes, that supervisor is gone (exited, or killed without a chance to stop
// its jobs), nobody follows the job any more, and it ends instead of running on as an orphan.
// `connected` is false when the channel closed while this module was loading.
const SUPERVISOR_GONE = 1;
if (process.connected === false) process.exit(SUPERVISOR_GONE);
if (process.channel) {
  process.once('disconnect', () => process.exit(SUPERVISOR_GONE));
  // A backstop for a close this process never heard of (seen on a loaded machine: a job whose
  // supervisor had died ran on, re-parented to init): a parent that is gone re-parents us.
  const supervisor = process.ppid;
  setInterval(() => {
    if (process.ppid !== supervisor) process.exit(SUPERVISOR_GONE);
  }, 1000).unref();
}

const { runEntrypoint } = await launch('#entrypoint');
process.exit(await runEntrypoint());
