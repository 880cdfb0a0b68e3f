/**
 * Tasks and task tags (backend-api.md §3): the filtered task list, creation (one task per project
 * and data unit), annotation submission, and tagging.
 */
import type { FastifyRequest } from 'fastify';
import {
  type DevContext,
  dataListItem,
  expansions,
  filesListItem,
  getOr404,
  listResponse,
  present,
} from '../context.ts';
import type { Collection, Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { badRequest, invalidChoice, invalidPk, notFound, required } from '../errors.ts';
import { existingPks, isObject, listField, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

const TAG_ACTIONS = ['add', 'remove'];

/** A task with its data unit embedded (files keyed by specification name); as stored without one. */
function withUnit(task: Doc, unit: Doc | null | undefined): Doc {
  if (!unit) return task;
  const { id, data_collection = null, meta = {}, files = {} } = unit;
  return { ...task, data_unit: { id, data_collection, meta, files } };
}

/** With `expand=data_unit`, each task embeds its data unit. */
async function serializeTasks(ctx: DevContext, req: FastifyRequest, docs: Doc[]): Promise<Doc[]> {
  if (!expansions(req).has('data_unit')) return docs;
  const units = await ctx.collections.data_units.getMany(docs.map((d) => d.data_unit));
  return docs.map((task) => withUnit(task, units.get(task.data_unit)));
}

/**
 * Creating tasks checks for existing ones and then inserts: running creations one at a time keeps
 * concurrent requests from both creating the task of the same (project, data unit).
 */
function oneAtATime<T>(ctx: DevContext, fn: () => Promise<T>): Promise<T> {
  const run = ctx.state.taskCreation.then(fn, fn);
  ctx.state.taskCreation = run.catch(() => {});
  return run;
}

/** `POST tasks/`: one task per (project, data unit); units that already have one are skipped. */
export async function createTasks(ctx: DevContext, rawBody: unknown): Promise<Doc[]> {
  const { projects, tasks, data_units } = ctx.collections;
  const body = objectBody(rawBody);
  if (body.project === undefined || body.project === null) throw required('project');
  const project = Number.isInteger(body.project) ? await projects.get(body.project as number) : null;
  if (!project) throw invalidPk('project', body.project);
  const unitIds = listField(body, 'data').map((item) => {
    if (!isObject(item) || item.data_unit === undefined || item.data_unit === null) {
      throw required('data_unit');
    }
    return item.data_unit;
  });
  await existingPks(data_units, 'data_unit', unitIds);
  return oneAtATime(ctx, async () => {
    const where = emptyWhere();
    addCondition(where, `(doc->>'project') = $?`, String(project.id));
    addCondition(where, `(doc->>'data_unit') = ANY($?)`, unitIds.map(String));
    const existing = new Set((await tasks.find(where)).map((t) => t.data_unit));
    const fresh = [...new Set(unitIds)].filter((id) => !existing.has(id));
    return tasks.createMany(
      fresh.map((id) => ({
        project: project.id,
        data_collection: project.data_collection ?? null,
        data_unit: id,
      })),
    );
  });
}

/** `annotate_task_data`: every invalid field is reported at once, as DRF does. */
function annotation(rawBody: unknown): Record<string, unknown> {
  const body = objectBody(rawBody);
  const errors: Record<string, string[]> = {};
  if (body.action === undefined || body.action === null) errors.action = ['This field is required.'];
  else if (body.action !== 'submit') errors.action = [`"${body.action}" is not a valid choice.`];
  if (!isObject(body.data)) errors.data = ['This field is required.'];
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return body.data as Record<string, unknown>;
}

/** `set_tags` of tasks and assignments: adds or removes task tags on each object of `ids`. */
export async function setTags(ctx: DevContext, target: Collection, rawBody: unknown) {
  const body = objectBody(rawBody);
  const action = body.action ?? 'add';
  if (!TAG_ACTIONS.includes(action as string)) throw invalidChoice('action', action);
  const ids = listField(body, 'ids');
  const tags = listField(body, 'tags') as number[];
  const objects = await existingPks(target, 'ids', ids);
  await existingPks(ctx.collections.task_tags, 'tags', tags);
  for (const doc of objects.values()) {
    const current: number[] = Array.isArray(doc.tags) ? doc.tags : [];
    const next =
      action === 'add' ? [...new Set([...current, ...tags])] : current.filter((t) => !tags.includes(t));
    await target.update(doc.id, { tags: next });
  }
  return { ids, tags, action };
}

const routes: RouteModule = (app, ctx) => {
  const { tasks, task_tags: tags } = ctx.collections;
  const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get('/sdk/tasks/', (req) =>
    listResponse(ctx, req, tasks, { serialize: (docs) => serializeTasks(ctx, req, docs) }),
  );

  // The lighter views of the same list (list_tasks_data / list_tasks_files of the Python SDK).
  app.get('/sdk/tasks/data/', (req) =>
    listResponse(ctx, req, tasks, { serialize: (docs) => docs.map(dataListItem) }),
  );

  app.get('/sdk/tasks/files/', (req) =>
    listResponse(ctx, req, tasks, {
      serialize: async (docs) => {
        const units = await ctx.collections.data_units.getMany(docs.map((d) => d.data_unit));
        return docs.map((task) => filesListItem(task, units.get(task.data_unit)?.files));
      },
    }),
  );

  // ToTask reads every task this way: the task and its data unit come in one query.
  app.get('/tasks/:id/', async (req) => {
    if (!expansions(req).has('data_unit')) return present(ctx, req, await getOr404(tasks, idOf(req)));
    const found = await tasks.getWith(idOf(req), 'data_unit', ctx.collections.data_units);
    if (!found) throw notFound();
    return present(ctx, req, withUnit(found.doc, found.related));
  });

  app.post('/tasks/', async (req, reply) => {
    const created = await createTasks(ctx, req.body);
    return reply.code(201).send(created.map((t) => present(ctx, req, t)));
  });

  // One query when the body is valid (the update finds the task or not); a bad body still answers
  // 404 for a missing task before 400 for itself.
  app.put('/tasks/:id/annotate_task_data/', async (req) => {
    let data: Record<string, unknown>;
    try {
      data = annotation(req.body);
    } catch (err) {
      await getOr404(tasks, idOf(req));
      throw err;
    }
    const updated = await tasks.update(idOf(req), { data, modified: new Date().toISOString() });
    if (!updated) throw notFound();
    return present(ctx, req, updated);
  });

  app.post('/tasks/set_tags/', (req) => setTags(ctx, tasks, req.body));

  app.get('/task_tags/', (req) => listResponse(ctx, req, tags));
  app.get('/task_tags/:id/', async (req) => present(ctx, req, await getOr404(tags, idOf(req))));
};
export default routes;
