/**
 * `/ui/serve-applications` and `/ui/serve-applications/:id`: serve applications with their status,
 * release and replicas; an application's page calls it (JSON in, its answer shown) and stops it.
 */
import type { DevContext } from '../../context.ts';
import type { Doc } from '../../db/collection.ts';
import { notFound } from '../../errors.ts';
import { badge, DASH, facts, heading, jsonBlock, link, pager, section, table, when } from '../components.ts';
import { pageOf } from '../data.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

export async function serveApplicationsPage(ctx: DevContext, page: number): Promise<Html> {
  const list = await pageOf(ctx.collections.serve_applications, { page, newestFirst: true });
  const rows = list.docs.map((a) => [
    a.id,
    link(uiPath('serve-applications', a.id), a.name),
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

export async function serveApplicationOr404(ctx: DevContext, id: string): Promise<Doc> {
  const app = /^\d+$/.test(id) ? await ctx.collections.serve_applications.get(Number(id)) : null;
  if (!app) throw notFound();
  return app;
}

/** What the call form sent, and what came back (an answer or an error). */
export interface ServeCall {
  json: string;
  path: string;
  model: string;
  answer?: unknown;
  error?: string;
}

function callForm(app: Doc, call: ServeCall | undefined): Html {
  if (app.status !== 'RUNNING') {
    return html`<p class="empty">Only a RUNNING application answers; this one is ${app.status}.</p>`;
  }
  const form = html`<form class="call" method="post" action="${uiPath('serve-applications', app.id, 'call')}">
<label>Input (JSON, the request body) <textarea name="json" rows="6" spellcheck="false">${call?.json ?? '{}'}</textarea></label>
<label>Path <input name="path" value="${call?.path ?? '/'}"></label>
<label>Model id (optional: selects the model a multiplexed deployment serves) <input name="model" value="${call?.model ?? ''}" inputmode="numeric"></label>
<button type="submit">Call</button>
</form>`;
  const outcome =
    call?.error !== undefined
      ? html`<p class="error" role="alert" data-call-error>${call.error}</p>`
      : call && 'answer' in call
        ? html`<h3>Answer</h3><div data-call-answer>${jsonBlock(call.answer)}</div>`
        : html``;
  return html`${form}${outcome}`;
}

export async function serveApplicationPage(ctx: DevContext, id: string, call?: ServeCall): Promise<Html> {
  const app = await serveApplicationOr404(ctx, id);
  const content = html`${heading(app.name, app.plugin_code, [['Serve applications', '/ui/serve-applications']])}
${section(
  'Application',
  html`${facts([
    ['Status', badge(app.status)],
    ['Plugin', app.plugin_code],
    ['Replicas', app.num_replicas],
    ['Route', app.route_prefix ? html`<code>${app.route_prefix}</code>` : DASH],
    ['Agent', app.agent],
    [
      'Deployed by',
      app.job ? link(uiPath('jobs', app.job), html`<code>${String(app.job).slice(0, 8)}</code>`) : DASH,
    ],
    ['Updated', when(app.modified ?? app.created)],
  ])}
<form class="stop" method="post" action="${uiPath('serve-applications', app.id, 'stop')}">
<button type="submit" data-stop>Stop application</button></form>`,
)}
${section('Call', callForm(app, call))}
${section('Parameters', jsonBlock(app.params))}`;
  return layout(app.name, 'serve-applications', content);
}
