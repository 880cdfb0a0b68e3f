/** `/ui/models`: models with their project, plugin, version and metrics (never their configuration). */
import type { DevContext } from '../../context.ts';
import { mediaHref } from '../annotations.ts';
import { DASH, heading, link, pager, section, table, valueText, when } from '../components.ts';
import { pageOf } from '../data.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

/** A few metrics inline; the rest are counted. */
function metricsSummary(metrics: unknown): string {
  if (!metrics || typeof metrics !== 'object' || Array.isArray(metrics)) return DASH;
  const entries = Object.entries(metrics);
  if (entries.length === 0) return DASH;
  const shown = entries.slice(0, 4).map(([k, v]) => `${k}: ${valueText(v)}`);
  return entries.length > 4 ? `${shown.join(', ')}, +${entries.length - 4} more` : shown.join(', ');
}

export async function modelsPage(ctx: DevContext, page: number): Promise<Html> {
  const list = await pageOf(ctx.collections.models, { page, newestFirst: true });
  const projects = await ctx.collections.projects.getMany(list.docs.map((m) => m.project));
  const plugins = await ctx.collections.plugins.getMany(list.docs.map((m) => m.plugin));
  const rows = list.docs.map((m) => {
    const project = projects.get(m.project);
    const file = mediaHref(m.file, ctx.media);
    return [
      m.id,
      m.name,
      [m.category, m.model_type].filter(Boolean).join(' / ') || DASH,
      project ? link(uiPath('projects', project.id), project.title || `Project ${project.id}`) : m.project,
      plugins.get(m.plugin)?.code ?? m.plugin,
      m.version,
      metricsSummary(m.metrics),
      m.is_active ? 'yes' : 'no',
      file ? link(file, 'download') : DASH,
      when(m.created_at),
    ];
  });
  const content = html`${heading('Models', 'Newest first')}
${section(
  `${list.count} model${list.count === 1 ? '' : 's'}`,
  html`${table(['ID', 'Name', 'Category / type', 'Project', 'Plugin', 'Version', 'Metrics', 'Active', 'File', 'Created'], rows, 'No models yet.')}
${pager(list, '/ui/models')}`,
)}`;
  return layout('Models', 'models', content);
}
