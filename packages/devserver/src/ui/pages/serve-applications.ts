/** `/ui/serve-applications`: serve applications with their status, release and replicas. */
import type { DevContext } from '../../context.ts';
import { badge, DASH, heading, link, pager, section, table, when } from '../components.ts';
import { pageOf } from '../data.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

export async function serveApplicationsPage(ctx: DevContext, page: number): Promise<Html> {
  const list = await pageOf(ctx.collections.serve_applications, { page, newestFirst: true });
  const rows = list.docs.map((a) => [
    a.id,
    a.name,
    badge(a.status),
    a.plugin_code,
    a.num_replicas,
    a.route_prefix ? html`<code>${a.route_prefix}</code>` : DASH,
    a.agent,
    a.job ? link(uiPath('jobs', a.job), html`<code>${String(a.job).slice(0, 8)}</code>`) : DASH,
    when(a.modified ?? a.created),
  ]);
  const content = html`${heading('Serve applications', 'Newest first')}
${section(
  `${list.count} application${list.count === 1 ? '' : 's'}`,
  html`${table(['ID', 'Name', 'Status', 'Plugin', 'Replicas', 'Route', 'Agent', 'Job', 'Updated'], rows, 'No serve applications yet.')}
${pager(list, '/ui/serve-applications')}`,
)}`;
  return layout('Serve applications', 'serve-applications', content);
}
