/** `/ui/projects` and `/ui/projects/:id`: projects, and a project's tasks with their thumbnails. */
import type { DevContext } from '../../context.ts';
import type { Doc } from '../../db/collection.ts';
import { notFound } from '../../errors.ts';
import { primaryImage, taskObjects, taskStatus } from '../annotations.ts';
import { DASH, facts, heading, link, pager, section, table, when } from '../components.ts';
import { pageOf, whereField } from '../data.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

/** Projects with their task counts and data collections. */
export async function projectsTable(ctx: DevContext, docs: Doc[]): Promise<Html> {
  const { tasks, data_collections } = ctx.collections;
  const collections = await data_collections.getMany(docs.map((p) => p.data_collection));
  const rows = [];
  for (const p of docs) {
    rows.push([
      p.id,
      link(uiPath('projects', p.id), p.title || `Project ${p.id}`),
      p.category,
      await tasks.count(whereField('project', p.id)),
      collections.get(p.data_collection)?.name,
      when(p.created),
    ]);
  }
  return table(['ID', 'Title', 'Category', 'Tasks', 'Data collection', 'Created'], rows, 'No projects yet.');
}

export async function projectsPage(ctx: DevContext, page: number): Promise<Html> {
  const list = await pageOf(ctx.collections.projects, { page });
  const content = html`${heading('Projects')}
${section(
  `${list.count} project${list.count === 1 ? '' : 's'}`,
  html`${await projectsTable(ctx, list.docs)}${pager(list, '/ui/projects')}`,
)}`;
  return layout('Projects', 'projects', content);
}

export async function projectPage(ctx: DevContext, id: string, page: number): Promise<Html> {
  const { projects, tasks, data_units, data_collections } = ctx.collections;
  const project = await projects.get(id);
  if (!project) throw notFound();
  const list = await pageOf(tasks, { page, where: whereField('project', project.id) });
  const units = await data_units.getMany(list.docs.map((t) => t.data_unit));
  const collections = await data_collections.getMany([
    project.data_collection,
    ...[...units.values()].map((u) => u.data_collection),
  ]);
  const rows = list.docs.map((task) => {
    const unit = units.get(task.data_unit) ?? null;
    const image = primaryImage(collections.get(unit?.data_collection) ?? null, unit, ctx.media);
    const href = uiPath('tasks', task.id);
    return [
      image
        ? html`<a href="${href}"><img class="thumb" src="${image.href}" alt="" loading="lazy"></a>`
        : DASH,
      link(href, `Task ${task.id}`),
      taskStatus(task),
      taskObjects(task.data).length,
      task.data_unit,
      when(task.modified),
    ];
  });
  const title = project.title || `Project ${project.id}`;
  const content = html`${heading(title, project.description || undefined, [['Projects', '/ui/projects']])}
${section(
  'Project',
  facts([
    ['ID', project.id],
    ['Category', project.category],
    [
      'Data collection',
      project.data_collection === null ? undefined : collections.get(project.data_collection)?.name,
    ],
    ['Tasks', list.count],
    ['Archived', project.is_archived ? 'yes' : 'no'],
    ['Created', when(project.created)],
  ]),
)}
${section(
  'Tasks',
  html`${table(['', 'Task', 'Status', 'Objects', 'Data unit', 'Modified'], rows, 'This project has no tasks yet.')}
${pager(list, uiPath('projects', project.id))}`,
)}`;
  return layout(title, 'projects', content);
}
