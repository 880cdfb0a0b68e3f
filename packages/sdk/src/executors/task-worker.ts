/**
 * The TaskExecutor's worker process: runs one `execute` message at a time and answers with the
 * result or the error (plugins.md §10.3). Resolved actions stay cached for the worker's life.
 */

import { loadEntrypoint } from '../actions/entrypoint.ts';
import { dispatchAction } from '../plugins/action.ts';
import { runtimeContext } from './runtime.ts';
import type { ExecuteMessage, WorkerReply } from './task.ts';

const actions = new Map<string, Promise<unknown>>();

function loadAction(pluginDir: string, entrypoint: string): Promise<unknown> {
  const key = `${pluginDir}\0${entrypoint}`;
  let action = actions.get(key);
  if (!action) {
    action = loadEntrypoint(entrypoint, pluginDir);
    actions.set(key, action);
    // A failed import is retried on the next call (the file may have been fixed).
    action.catch(() => actions.delete(key));
  }
  return action;
}

function errorReply(id: number, stage: 'import' | 'execute', err: unknown): WorkerReply {
  const error = err instanceof Error ? err : new Error(String(err));
  const details = (error as { details?: unknown }).details;
  return {
    type: 'error',
    id,
    stage,
    name: error.name,
    message: error.message,
    details: details !== null && typeof details === 'object' ? (details as Record<string, unknown>) : {},
  };
}

async function handle(message: ExecuteMessage): Promise<WorkerReply> {
  let action: unknown;
  try {
    action = await loadAction(message.pluginDir, message.entrypoint);
  } catch (err) {
    return errorReply(message.id, 'import', err);
  }
  const ctx = runtimeContext({ ...process.env, ...message.env }, message.jobId);
  try {
    const result = await dispatchAction(action, message.params, ctx);
    return { type: 'result', id: message.id, result };
  } catch (err) {
    return errorReply(message.id, 'execute', err);
  } finally {
    await ctx.logger.finish();
    await Promise.all([ctx.client?.close(), ctx.agentClient?.close()]);
  }
}

function send(reply: WorkerReply): void {
  try {
    process.send!(reply);
  } catch (err) {
    // A result or error details that cannot be serialized.
    process.send!(errorReply(reply.id, 'execute', err));
  }
}

process.on('message', (message: ExecuteMessage) => {
  void handle(message).then(send);
});

// The parent is gone (closed or crashed): nothing will ever ask this worker again.
process.on('disconnect', () => process.exit(0));
