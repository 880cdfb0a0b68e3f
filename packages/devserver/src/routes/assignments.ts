/**
 * Assignments (backend-api.md §4): a user's work on one task. The stored document references its
 * task by id; responses embed the task's id and tags, its data unit, and the unit's files.
 */
import type { FastifyRequest } from 'fastify';
import { type DevContext, dataListItem, filesListItem, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere, parseValue, type Where } from '../db/filters.ts';
import type { RouteModule } from './index.ts';
import { setTags } from './tasks.ts';

async function serializeAssignments(ctx: DevContext, docs: Doc[]): Promise<Doc[]> {
  const tasks = await ctx.collections.tasks.getMany(docs.map((d) => d.task));
  const units = await ctx.collections.data_units.getMany([...tasks.values()].map((t) => t.data_unit));
  return docs.map((assignment) => {
    const task = tasks.get(assignment.task);
    const unit = task ? units.get(task.data_unit) : undefined;
    const files = unit?.files ?? {};
    return {
      ...assignment,
      task: task ? { id: task.id, tags: task.tags ?? [] } : assignment.task,
      data_unit: unit ? { id: unit.id, meta: unit.meta ?? {}, files } : null,
      files,
    };
  });
}

/** An assignment belongs to the project of its task. */
function projectWhere(req: FastifyRequest): Where {
  const where = emptyWhere();
  const raw = (req.query as Record<string, string | string[] | undefined>).project;
  const project = Array.isArray(raw) ? raw[0] : raw;
  if (project) {
    addCondition(
      where,
      `(doc->>'task')::int IN (SELECT id FROM tasks WHERE (doc->>'project') = $?)`,
      String(parseValue('project', 'int', project)),
    );
  }
  return where;
}

const routes: RouteModule = (app, ctx) => {
  const assignments = ctx.collections.assignments;

  app.get('/sdk/assignments/', (req) =>
    listResponse(ctx, req, assignments, {
      where: projectWhere(req),
      serialize: (docs) => serializeAssignments(ctx, docs),
    }),
  );

  // The lighter views (list_assignments_data / list_assignments_files of the Python SDK).
  app.get('/sdk/assignments/data/', (req) =>
    listResponse(ctx, req, assignments, {
      where: projectWhere(req),
      serialize: (docs) => docs.map(dataListItem),
    }),
  );

  app.get('/sdk/assignments/files/', (req) =>
    listResponse(ctx, req, assignments, {
      where: projectWhere(req),
      serialize: async (docs) =>
        (await serializeAssignments(ctx, docs)).map((a) => filesListItem(a, a.files)),
    }),
  );

  app.get('/assignments/:id/', async (req) => {
    const assignment = await getOr404(assignments, (req.params as { id: string }).id);
    const [serialized] = await serializeAssignments(ctx, [assignment]);
    return present(ctx, req, serialized);
  });

  app.post('/assignments/set_tags/', (req) => setTags(ctx, assignments, req.body));
};
export default routes;
