/**
 * Job records (backend-api.md §11.1) and their change events: every write goes through
 * `updateJob`, so console-log tails and agents learn about new lines and terminal states at once.
 */
import { type JobStatus, TERMINAL_JOB_STATUSES } from 'synapse-core';
import type { DevContext } from './context.ts';
import type { Doc } from './db/collection.ts';

export function isTerminal(status: unknown): boolean {
  return TERMINAL_JOB_STATUSES.has(status as JobStatus);
}

/** Fields that follow from a (valid, upper-case) status: terminal jobs are completed and inactive. */
export function statusFields(status: string): Record<string, unknown> {
  const terminal = isTerminal(status);
  return { status, completed: terminal ? new Date().toISOString() : null, is_active: !terminal };
}

export interface JobSpec {
  /** Reuse this job record (or create it with this id). */
  id?: string;
  action: string;
  plugin: number | null;
  plugin_release: number | null;
  agent: number;
  params: Record<string, unknown>;
  debug?: boolean;
  storage?: number | null;
}

/** A PENDING job record for a run; an existing record with the same id starts over. */
export async function startJob(ctx: DevContext, spec: JobSpec): Promise<Doc> {
  const { id, ...values } = spec;
  const fresh = {
    ...values,
    ...statusFields('PENDING'),
    progress_record: null,
    metrics_record: null,
    result: null,
    console_logs: null,
  };
  if (id && (await ctx.collections.jobs.get(id))) return updateJob(ctx, id, fresh) as Promise<Doc>;
  return ctx.collections.jobs.create(id ? { id, ...fresh } : fresh);
}

/** Replaces the given top-level fields, stamps `modified`, and notifies watchers. */
export async function updateJob(
  ctx: DevContext,
  id: string,
  values: Record<string, unknown>,
): Promise<Doc | null> {
  const job = await ctx.collections.jobs.update(id, { ...values, modified: new Date().toISOString() });
  if (job) ctx.state.jobChanges.emit(id, job);
  return job;
}

/**
 * Stops a job that has not ended: it turns STOPPED, and the runner stops its process on that
 * change. False when it had ended already. One implementation for the agent's `jobs/<id>/stop/`
 * and the dashboard's Stop button.
 */
export async function stopJob(ctx: DevContext, id: string): Promise<boolean> {
  const job = await ctx.collections.jobs.get(id);
  if (!job || isTerminal(job.status)) return false;
  await updateJob(ctx, id, statusFields('STOPPED'));
  return true;
}

/** Calls `listener` with the job after each update on this server; returns the unsubscribe function. */
export function watchJob(ctx: DevContext, id: string, listener: (job: Doc) => void): () => void {
  const { jobChanges } = ctx.state;
  jobChanges.on(id, listener);
  return () => jobChanges.off(id, listener);
}

/**
 * The console log as lines: a list gives one line per item (non-strings as JSON), a string is
 * split on newlines, any other object is one JSON line.
 */
export function consoleLines(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  if (typeof value === 'string') return value.split('\n');
  return [JSON.stringify(value)];
}

/** Why a follow ended: the job turned terminal, is gone (or not the caller's), failed to load, or was stopped. */
export type FollowEnd = 'complete' | 'missing' | 'failed' | 'stopped';

export interface ConsoleFollow {
  /** Ends the follow (`onEnd('stopped')` unless it already ended); safe to call at any time. */
  stop: () => void;
  /** Settles once the job's current lines were handed over; rejects when the job could not be read. */
  ready: Promise<void>;
}

/**
 * Follows a job's console log: `onLines` gets the lines so far, then the lines each update adds,
 * until the job is terminal; `onEnd` is called once, however the follow ends. A log that is
 * replaced rather than extended (a PATCH may set a shorter or different list) is sent again whole
 * from its first line. `visible` hides jobs the caller may not see (they end it as `missing`).
 */
export function followConsoleLines(
  ctx: DevContext,
  jobId: string,
  onLines: (lines: string[]) => void,
  onEnd: (reason: FollowEnd) => void,
  visible: (job: Doc) => boolean = () => true,
): ConsoleFollow {
  let sent = 0;
  let lastSent: string | undefined;
  let updated = false;
  let ended = false;
  const registry = ctx.state.consoleFollows;
  const end = (reason: FollowEnd) => {
    if (ended) return;
    ended = true;
    unsubscribe();
    registry.delete(stop);
    onEnd(reason);
  };
  const stop = () => end('stopped');
  const push = (job: Doc | null) => {
    if (ended) return;
    if (!job || !visible(job)) return end('missing');
    const lines = consoleLines(job.console_logs);
    if (lines.length < sent || (sent > 0 && lines[sent - 1] !== lastSent)) sent = 0;
    if (lines.length > sent) {
      const fresh = lines.slice(sent);
      sent = lines.length;
      lastSent = lines[sent - 1];
      onLines(fresh);
    }
    if (isTerminal(job.status)) end('complete');
  };
  // Subscribed before reading, so that no update falls between the read and the subscription.
  const unsubscribe = watchJob(ctx, jobId, (job) => {
    updated = true;
    push(job);
  });
  registry.add(stop);
  const ready = ctx.collections.jobs.get(jobId).then(
    // Updates arrive in order, but one can overtake this read, which may then be the older
    // document (and look like a replaced log): the updates bring every state the read could show.
    (job) => (updated && job ? undefined : push(job)),
    (err) => {
      end('failed');
      throw err;
    },
  );
  return { stop, ready };
}

/** Ends every follow of this server (at shutdown). */
export function stopFollows(ctx: DevContext): void {
  for (const stop of [...ctx.state.consoleFollows]) stop();
}
