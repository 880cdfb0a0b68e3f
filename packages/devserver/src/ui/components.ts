/** The pieces every page is made of: headings, tables, pagers, badges, bars and value formats. */

import { redactText, redactValue } from 'synapse-sdk';
import type { PageOf } from './data.ts';
import { type Html, html } from './html.ts';

export const DASH = '—';

/** A heading with an optional line under it and links back up. */
export function heading(title: unknown, subtitle?: unknown, crumbs: Array<[string, string]> = []): Html {
  return html`<div class="page-head">
${crumbs.length > 0 && html`<div class="crumbs">${crumbs.map(([label, href]) => html`<a href="${href}">${label}</a> / `)}</div>`}
<h1>${title}</h1>
${subtitle !== undefined && html`<p class="subtitle">${subtitle}</p>`}
</div>`;
}

export function section(title: string, body: Html, attrs = html``): Html {
  return html`<section class="card"${attrs}><h2>${title}</h2>${body}</section>`;
}

/** A table; cells are escaped unless they are `Html`. */
export function table(columns: string[], rows: unknown[][], empty = 'Nothing here yet.'): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table>
<thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${r.map((cell) => html`<td>${cell ?? DASH}</td>`)}</tr>`)}</tbody>
</table></div>`;
}

/** Label/value pairs. */
export function facts(pairs: Array<[string, unknown]>): Html {
  return html`<dl class="facts">${pairs.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v ?? DASH}</dd></div>`)}</dl>`;
}

/** Previous/next links; `param` names the page number when a page has more than one list. */
export function pager(page: PageOf, path: string, param = 'page'): Html {
  if (page.pages <= 1) return html``;
  const link = (n: number, label: string) =>
    n >= 1 && n <= page.pages
      ? html`<a href="${`${path}?${param}=${n}`}">${label}</a>`
      : html`<span>${label}</span>`;
  return html`<nav class="pager">${link(page.page - 1, '‹ Previous')}
<span>Page ${page.page} of ${page.pages} · ${page.count} in all</span>
${link(page.page + 1, 'Next ›')}</nav>`;
}

export function link(href: string, label: unknown): Html {
  return html`<a href="${href}">${label}</a>`;
}

/** A status as a coloured pill; the class is derived from a known alphabet only. */
export function badge(status: unknown): Html {
  const text = String(status ?? 'unknown');
  const kind = text.toLowerCase().replace(/[^a-z_]/g, '');
  return html`<span class="badge status-${kind}">${text}</span>`;
}

export function percentText(value: unknown): string {
  const n = Number(value);
  return Number.isFinite(n) ? `${Math.round(n * 10) / 10}%` : DASH;
}

export function bar(percent: unknown, failed = false): Html {
  const n = Math.min(100, Math.max(0, Number(percent) || 0));
  return html`<progress class="${failed ? 'failed' : ''}" max="100" value="${n}">${percentText(n)}</progress>`;
}

/** An ISO timestamp as `YYYY-MM-DD HH:MM:SS UTC` (the devserver stamps UTC). */
export function when(iso: unknown): Html | string {
  if (typeof iso !== 'string' || Number.isNaN(Date.parse(iso))) return DASH;
  const utc = new Date(iso).toISOString();
  return html`<time datetime="${utc}">${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC</time>`;
}

/**
 * A scalar as text (credential-shaped values masked); numbers keep at most 4 decimals. Known
 * secrets are masked by the page's final sweep (ui/index.ts).
 */
export function valueText(value: unknown): string {
  if (typeof value === 'number') return String(Math.round(value * 1e4) / 1e4);
  if (typeof value === 'string') return redactText(value);
  return JSON.stringify(redactValue(value)) ?? DASH;
}

/** Free-form JSON, redacted and cut to a readable size. */
export function jsonBlock(value: unknown, max = 4000): Html {
  if (value === null || value === undefined) return html`<p class="empty">None.</p>`;
  const text = JSON.stringify(redactValue(value), null, 2);
  const cut = text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
  return html`<pre class="json">${cut}</pre>`;
}
