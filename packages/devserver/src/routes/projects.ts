/** Projects (backend-api.md §2): list and detail, each with its live `task_count`. */
import { type DevContext, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import type { RouteModule } from './index.ts';

/** Adds `task_count`, counted for the whole page in one query. */
async function withTaskCounts(ctx: DevContext, docs: Doc[]): Promise<Doc[]> {
  if (docs.length === 0) return docs;
  const rows = await ctx.db.query<{ project: string; n: number }>(
    `SELECT doc->>'project' AS project, count(*)::int AS n FROM tasks
     WHERE doc->>'project' = ANY($1) GROUP BY 1`,
    [docs.map((d) => String(d.id))],
  );
  const counts = new Map(rows.map((r) => [r.project, r.n]));
  return docs.map((d) => ({ ...d, task_count: counts.get(String(d.id)) ?? 0 }));
}

const routes: RouteModule = (app, ctx) => {
  const projects = ctx.collections.projects;

  app.get('/projects/', (req) =>
    listResponse(ctx, req, projects, { serialize: (docs) => withTaskCounts(ctx, docs) }),
  );

  app.get('/projects/:id/', async (req) => {
    const project = await getOr404(projects, (req.params as { id: string }).id);
    const [withCount] = await withTaskCounts(ctx, [project]);
    return present(ctx, req, withCount);
  });
};
export default routes;
