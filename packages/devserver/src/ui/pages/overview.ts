/** `/ui/`: how much of everything there is, what runs now, and the latest jobs and projects. */
import type { DevContext } from '../../context.ts';
import { heading, section } from '../components.ts';
import { pageOf, whereField } from '../data.ts';
import { type Html, html, layout } from '../html.ts';
import { jobsTable } from './jobs.ts';
import { projectsTable } from './projects.ts';

export async function overviewPage(ctx: DevContext): Promise<Html> {
  const c = ctx.collections;
  const stats: Array<[string, number, string]> = [
    ['Projects', await c.projects.count(), '/ui/projects'],
    ['Tasks', await c.tasks.count(), '/ui/projects'],
    ['Data collections', await c.data_collections.count(), '/ui/projects'],
    ['Jobs', await c.jobs.count(), '/ui/jobs'],
    ['Running jobs', await c.jobs.count(whereField('status', 'RUNNING')), '/ui/jobs'],
    ['Models', await c.models.count(), '/ui/models'],
    ['Plugins', await c.plugins.count(), '/ui/plugins'],
    ['Serve applications', await c.serve_applications.count(), '/ui/serve-applications'],
  ];
  const recent = await pageOf(c.jobs, { page: 1, newestFirst: true, size: 8 });
  const projects = await pageOf(c.projects, { page: 1, newestFirst: true, size: 8 });
  const content = html`${heading('Overview', `Local platform at ${ctx.publicUrl}`)}
<div class="stats">${stats.map(
    ([label, n, href]) => html`<a class="stat" href="${href}"><strong>${n}</strong><span>${label}</span></a>`,
  )}</div>
${section('Latest jobs', html`${await jobsTable(ctx, recent.docs)}<p><a href="/ui/jobs">All jobs ›</a></p>`)}
${section('Latest projects', html`${await projectsTable(ctx, projects.docs)}<p><a href="/ui/projects">All projects ›</a></p>`)}`;
  return layout('Overview', 'overview', content);
}
