/** `/ui/plugins`: plugins, and their releases newest first with the actions each offers. */
import type { DevContext } from '../../context.ts';
import { isObject } from '../../validate.ts';
import { DASH, heading, pager, section, table, when } from '../components.ts';
import { pageOf, pageParam } from '../data.ts';
import { type Html, html, layout } from '../html.ts';

function actionsOf(config: unknown): string {
  const actions = isObject(config) && isObject(config.actions) ? Object.keys(config.actions) : [];
  return actions.length > 0 ? actions.join(', ') : DASH;
}

/** Two lists on one page, each with its own page number. */
export async function pluginsPage(ctx: DevContext, query: Record<string, unknown>): Promise<Html> {
  const plugins = await pageOf(ctx.collections.plugins, { page: pageParam(query) });
  const releases = await pageOf(ctx.collections.plugin_releases, {
    page: pageParam({ page: query.releases_page }),
  });
  const content = html`${heading('Plugins')}
${section(
  `${plugins.count} plugin${plugins.count === 1 ? '' : 's'}`,
  html`${table(
    ['ID', 'Code', 'Name', 'Category', 'Active', 'Public', 'Created'],
    plugins.docs.map((p) => [
      p.id,
      html`<code>${p.code}</code>`,
      p.name,
      p.category,
      p.is_active ? 'yes' : 'no',
      p.is_public ? 'yes' : 'no',
      when(p.created),
    ]),
    'No plugins yet: publish one with `synapse plugin publish`.',
  )}${pager(plugins, '/ui/plugins')}`,
)}
${section(
  `${releases.count} release${releases.count === 1 ? '' : 's'}`,
  html`${table(
    ['ID', 'Release', 'Version', 'Actions', 'Debug', 'Created'],
    releases.docs.map((r) => [
      r.id,
      html`<code>${r.code}</code>`,
      r.version,
      actionsOf(r.config),
      r.debug ? 'yes' : 'no',
      when(r.created),
    ]),
    'No releases yet.',
  )}${pager(releases, '/ui/plugins', 'releases_page')}`,
)}`;
  return layout('Plugins', 'plugins', content);
}
