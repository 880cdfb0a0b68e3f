/**
 * Jobs (backend-api.md §11.1): list, detail, PATCH by the running plugin, the console log, and
 * a live tail of it that follows PATCHed lines and ends when the job is terminal.
 */
import { PassThrough } from 'node:stream';
import { getOr404, listResponse, present } from '../context.ts';
import type { Query } from '../db/filters.ts';
import { badRequest } from '../errors.ts';
import { consoleLines, isTerminal, JOB_STATUSES, statusFields, updateJob, watchJob } from '../jobs.ts';
import { isObject, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

/** The validated changes of a PATCH body; unknown keys are ignored. */
function jobChanges(body: Record<string, unknown>): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  const errors: Record<string, string[]> = {};
  if (body.status !== undefined) {
    const status = typeof body.status === 'string' ? body.status.toUpperCase() : '';
    if (JOB_STATUSES.includes(status)) Object.assign(changes, statusFields(status));
    else errors.status = [`"${body.status}" is not a valid choice.`];
  }
  for (const field of ['progress_record', 'metrics_record'] as const) {
    if (body[field] === undefined) continue;
    if (body[field] === null || isObject(body[field])) changes[field] = body[field];
    else errors[field] = ['Expected a dictionary of items.'];
  }
  const logs = body.console_logs;
  if (logs !== undefined) {
    const lines = Array.isArray(logs) && logs.every((l) => typeof l === 'string');
    if (logs === null || lines || isObject(logs)) changes.console_logs = logs;
    else errors.console_logs = ['Expected a list of strings or a dictionary.'];
  }
  if (body.result !== undefined) changes.result = body.result;
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return changes;
}

/** `status` filters accept either case; jobs store it upper case. */
function upperCaseStatus(query: Query): void {
  for (const key of ['status', 'status__in']) {
    const value = query[key];
    if (value !== undefined) {
      query[key] = Array.isArray(value) ? value.map((v) => v.toUpperCase()) : value.toUpperCase();
    }
  }
}

const routes: RouteModule = (app, ctx) => {
  const jobs = ctx.collections.jobs;
  /** Open tails, ended when the server closes so that closing does not wait for them. */
  const tails = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...tails]) end();
  });

  app.get('/jobs/', (req) => {
    upperCaseStatus(req.query as Query);
    return listResponse(ctx, req, jobs);
  });

  app.get('/jobs/:id/', async (req) =>
    present(ctx, req, await getOr404(jobs, (req.params as { id: string }).id)),
  );

  app.patch('/jobs/:id/', async (req) => {
    const job = await getOr404(jobs, (req.params as { id: string }).id);
    const changes = jobChanges(objectBody(req.body));
    return present(ctx, req, (await updateJob(ctx, job.id as string, changes))!);
  });

  app.get('/jobs/:id/console_logs/', async (req) => {
    const job = await getOr404(jobs, (req.params as { id: string }).id);
    return { results: consoleLines(job.console_logs) };
  });

  app.get('/async/jobs/:id/tail_console_logs/', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const stream = new PassThrough();
    let sent = 0;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      tails.delete(end);
      stream.end();
    };
    // Lines are only ever appended, so each update sends what lies beyond the lines already sent.
    const push = (job: Record<string, unknown>) => {
      const lines = consoleLines(job.console_logs);
      for (const line of lines.slice(sent)) stream.write(`${line}\n`);
      sent = Math.max(sent, lines.length);
      if (isTerminal(job.status)) end();
    };
    // Subscribe before reading so that no update falls between the read and the subscription.
    const unsubscribe = watchJob(id, push);
    tails.add(end);
    try {
      push(await getOr404(jobs, id));
    } catch (err) {
      end();
      throw err;
    }
    reply.raw.once('close', end);
    return reply.type('text/plain; charset=utf-8').send(stream);
  });
};
export default routes;
