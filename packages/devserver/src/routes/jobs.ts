/**
 * Jobs (backend-api.md §11.1): list, detail, PATCH by the running plugin, the console log, and
 * a live tail of it that follows PATCHed lines and ends when the job is terminal.
 */
import { PassThrough } from 'node:stream';
import { JOB_STATUSES, type JobStatus } from 'synapse-core';
import { getOr404, listResponse, present } from '../context.ts';
import type { Query } from '../db/filters.ts';
import { badRequest, notFound } from '../errors.ts';
import { consoleLines, followConsoleLines, statusFields, stopFollows, updateJob } from '../jobs.ts';
import type { SecretRegistry } from '../secrets.ts';
import { isObject, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

/** The validated changes of a PATCH body (console lines stored masked); unknown keys are ignored. */
function jobChanges(body: Record<string, unknown>, secrets: SecretRegistry): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  const errors: Record<string, string[]> = {};
  if (body.status !== undefined) {
    const status = typeof body.status === 'string' ? body.status.toUpperCase() : '';
    if (JOB_STATUSES.includes(status as JobStatus)) Object.assign(changes, statusFields(status));
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
    if (logs === null || lines || isObject(logs)) changes.console_logs = secrets.value(logs);
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
  // Open tails (these and the agent's log sockets) end when the server closes, so that closing does
  // not wait for them.
  app.addHook('preClose', async () => stopFollows(ctx));

  app.get('/jobs/', (req) => {
    upperCaseStatus(req.query as Query);
    return listResponse(ctx, req, jobs);
  });

  app.get('/jobs/:id/', async (req) =>
    present(ctx, req, await getOr404(jobs, (req.params as { id: string }).id)),
  );

  app.patch('/jobs/:id/', async (req) => {
    const job = await getOr404(jobs, (req.params as { id: string }).id);
    const changes = jobChanges(objectBody(req.body), ctx.secrets);
    return present(ctx, req, (await updateJob(ctx, job.id as string, changes))!);
  });

  app.get('/jobs/:id/console_logs/', async (req) => {
    const job = await getOr404(jobs, (req.params as { id: string }).id);
    return { results: consoleLines(job.console_logs) };
  });

  app.get('/async/jobs/:id/tail_console_logs/', async (req, reply) => {
    const stream = new PassThrough();
    let missing = false;
    const follow = followConsoleLines(
      ctx,
      (req.params as { id: string }).id,
      (lines) => stream.write(lines.map((line) => `${line}\n`).join('')),
      (reason) => {
        missing = reason === 'missing';
        stream.end();
      },
    );
    // Before the first read: a client gone meanwhile ends the follow too.
    reply.raw.once('close', follow.stop);
    await follow.ready;
    if (missing) throw notFound();
    return reply.type('text/plain; charset=utf-8').send(stream);
  });
};
export default routes;
