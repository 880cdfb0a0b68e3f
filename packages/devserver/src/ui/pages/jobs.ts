/**
 * `/ui/jobs` and `/ui/jobs/:id`: jobs with their status, progress per category, metrics, console
 * output and log records. While a job is not final the page polls `/ui/jobs/:id/live`, which
 * answers the same sections rendered by the same functions, plus the lines and records since the
 * ones the page has.
 */
import { redactText } from 'synapse-sdk';
import type { DevContext } from '../../context.ts';
import type { Doc } from '../../db/collection.ts';
import { notFound } from '../../errors.ts';
import { consoleLines, isTerminal } from '../../jobs.ts';
import type { MediaStore } from '../../media.ts';
import { isObject } from '../../validate.ts';
import { mediaHref } from '../annotations.ts';
import { metricCharts } from '../charts.ts';
import {
  badge,
  bar,
  DASH,
  facts,
  heading,
  jsonBlock,
  link,
  pager,
  percentText,
  section,
  table,
  valueText,
  when,
} from '../components.ts';
import { logsAfter, pageOf } from '../data.ts';
import { type Html, html, layout, uiPath } from '../html.ts';

/** At most this many console lines and log records are shown (the newest). */
const MAX_LINES = 1000;
const MAX_LOGS = 500;
const DEFAULT_KEY = '__default__';

type Entry = Record<string, unknown>;

/** The progress entries by category; the SDK writes them under both `categories` and `steps`. */
function progressEntries(job: Doc): { overall: unknown; entries: Array<[string, Entry]> } | null {
  if (!isObject(job.progress_record)) return null;
  const record = isObject(job.progress_record.record) ? job.progress_record.record : {};
  const current = isObject(job.progress_record.current_progress) ? job.progress_record.current_progress : {};
  const byKey = isObject(record.categories) ? record.categories : isObject(record.steps) ? record.steps : {};
  const entries = Object.entries(byKey).filter((e): e is [string, Entry] => isObject(e[1]));
  return { overall: current.overall ?? record.percent ?? entries[0]?.[1].percent, entries };
}

function duration(seconds: unknown): string {
  const s = Math.round(Number(seconds));
  if (seconds === null || !Number.isFinite(s)) return DASH;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function progressPart(job: Doc): Html {
  const progress = progressEntries(job);
  if (!progress) return html`<p class="empty">No progress reported yet.</p>`;
  const rows = progress.entries.map(([key, e]) => {
    const failed = e.status === 'failed';
    return html`<tr data-category="${key}">
<th scope="row">${key === DEFAULT_KEY ? 'progress' : key}</th>
<td class="bar-cell">${bar(e.percent, failed)}</td>
<td class="num">${failed ? badge('failed') : percentText(e.percent)}</td>
<td class="num">${e.proportion === undefined ? DASH : percentText(e.proportion)}</td>
<td class="num">${duration(e.time_remaining)}</td>
</tr>`;
  });
  return html`<div class="overall"><span>Overall</span>${bar(progress.overall)}<strong data-overall>${percentText(progress.overall)}</strong></div>
${
  rows.length > 0 &&
  html`<div class="table-wrap"><table class="progress-table">
<thead><tr><th>Category</th><th>Progress</th><th>Done</th><th>Share</th><th>Time left</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}`;
}

function metricsPart(job: Doc): Html {
  const record =
    isObject(job.metrics_record) && isObject(job.metrics_record.record) ? job.metrics_record.record : {};
  const byKey = isObject(record.categories) ? record.categories : isObject(record.steps) ? record.steps : {};
  const rows = Object.entries(byKey).flatMap(([category, values]) =>
    isObject(values) ? Object.entries(values).map(([name, v]) => [category, name, valueText(v)]) : [],
  );
  return html`${metricCharts(consoleLines(job.console_logs))}
${table(['Category', 'Metric', 'Latest value'], rows, 'No metrics reported yet.')}`;
}

async function summaryPart(ctx: DevContext, job: Doc): Promise<Html> {
  const plugin = job.plugin == null ? null : await ctx.collections.plugins.get(job.plugin);
  const release =
    job.plugin_release == null ? null : await ctx.collections.plugin_releases.get(job.plugin_release);
  return html`${facts([
    ['Status', badge(job.status)],
    ['Action', job.action],
    ['Plugin', plugin ? link('/ui/plugins', plugin.code) : job.plugin],
    ['Release', release?.code],
    ['Agent', job.agent],
    ['Created', when(job.created)],
    ['Completed', when(job.completed)],
    ['Duration', runDuration(job)],
  ])}
${
  !isTerminal(job.status) &&
  html`<form class="stop" method="post" action="${uiPath('jobs', job.id, 'stop')}">
<button type="submit" data-stop>Stop job</button></form>`
}`;
}

/** From creation to completion, or to now while it runs (the live part keeps it current). */
function runDuration(job: Doc): string {
  const start = Date.parse(String(job.created));
  const end = job.completed ? Date.parse(String(job.completed)) : Date.now();
  if (!Number.isFinite(start) || !Number.isFinite(end)) return DASH;
  const text = duration(Math.max(0, (end - start) / 1000));
  return job.completed ? text : `${text} so far`;
}

/** The sections that are re-rendered while the job runs, by their `data-part` name. */
async function liveParts(ctx: DevContext, job: Doc): Promise<Record<string, Html>> {
  return {
    summary: await summaryPart(ctx, job),
    progress: progressPart(job),
    metrics: metricsPart(job),
    result: jsonBlock(job.result),
  };
}

function logMessage(log: Doc): string {
  const data = isObject(log.data) ? log.data : {};
  if (typeof data.content === 'string') return redactText(data.content);
  if (typeof data.message === 'string') return redactText(data.message);
  return valueText(data);
}

function logRow(log: Doc, media: MediaStore): Html {
  const file = mediaHref(log.file, media);
  return html`<tr data-log="${log.id}"><td class="nowrap">${log.datetime ?? DASH}</td><td>${log.event}</td>
<td>${logMessage(log)}${file && html` <a href="${file}">attachment</a>`}</td></tr>`;
}

/** Console lines from `from` on (all of them when the log got shorter), at most the newest MAX_LINES. */
function consoleSince(job: Doc, from: number): { start: number; total: number; lines: string[] } {
  const lines = consoleLines(job.console_logs);
  const start = Math.max(from > lines.length ? 0 : from, lines.length - MAX_LINES);
  return { start, total: lines.length, lines: lines.slice(start).map((line) => redactText(line)) };
}

export async function jobsTable(ctx: DevContext, jobs: Doc[]): Promise<Html> {
  const plugins = await ctx.collections.plugins.getMany(jobs.map((j) => j.plugin));
  return table(
    ['Job', 'Action', 'Plugin', 'Status', 'Progress', 'Created'],
    jobs.map((j) => [
      link(uiPath('jobs', j.id), html`<code>${String(j.id).slice(0, 8)}</code>`),
      j.action,
      plugins.get(j.plugin)?.code ?? j.plugin,
      badge(j.status),
      percentText(progressEntries(j)?.overall),
      when(j.created),
    ]),
    'No jobs yet.',
  );
}

export async function jobsPage(ctx: DevContext, page: number): Promise<Html> {
  const list = await pageOf(ctx.collections.jobs, { page, newestFirst: true });
  const content = html`${heading('Jobs', 'Newest first')}
${section(`${list.count} job${list.count === 1 ? '' : 's'}`, html`${await jobsTable(ctx, list.docs)}${pager(list, '/ui/jobs')}`)}`;
  return layout('Jobs', 'jobs', content);
}

export async function jobOr404(ctx: DevContext, id: string): Promise<Doc> {
  const job = await ctx.collections.jobs.get(id);
  if (!job) throw notFound();
  return job;
}

export async function jobPage(ctx: DevContext, id: string): Promise<Html> {
  const job = await jobOr404(ctx, id);
  const parts = await liveParts(ctx, job);
  const output = consoleSince(job, 0);
  const logs = await logsAfter(ctx.db, job.id as string, 0, MAX_LOGS);
  const part = (name: string) => html` data-part="${name}"`;
  const content = html`${heading(html`Job <code>${job.id}</code>`, job.action, [['Jobs', '/ui/jobs']])}
<div class="job" data-live-job="${uiPath('jobs', job.id, 'live')}" data-state="${isTerminal(job.status) ? 'final' : 'live'}"
 data-console-count="${output.total}" data-last-log="${logs.at(-1)?.id ?? 0}">
${section('Job', parts.summary, part('summary'))}
${section('Progress', parts.progress, part('progress'))}
${section('Metrics', parts.metrics, part('metrics'))}
${section(
  'Console',
  html`${output.start > 0 && html`<p class="note">${output.start} earlier lines not shown.</p>`}<pre class="console" data-console>${output.lines.join('\n')}</pre>`,
)}
${section(
  'Log records',
  html`<div class="table-wrap"><table><thead><tr><th>Time</th><th>Event</th><th>Message</th></tr></thead>
<tbody data-logs>${logs.map((l) => logRow(l, ctx.media))}</tbody></table></div>`,
)}
${section('Parameters', jsonBlock(job.params))}
${section('Result', parts.result, part('result'))}
</div>`;
  return layout(`Job ${String(job.id).slice(0, 8)}`, 'jobs', content);
}

/** `/ui/jobs/:id/live?console=<lines the page has>&log=<last record id it has>`. */
export async function jobLive(ctx: DevContext, id: string, query: Record<string, unknown>) {
  const job = await jobOr404(ctx, id);
  const count = (v: unknown) => (Number.isInteger(Number(v)) && Number(v) >= 0 ? Number(v) : 0);
  const parts = await liveParts(ctx, job);
  const logs = await logsAfter(ctx.db, job.id as string, count(query.log), MAX_LOGS);
  return {
    status: job.status,
    final: isTerminal(job.status),
    parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, String(v)])),
    console: consoleSince(job, count(query.console)),
    logs: { rows: logs.map((l) => String(logRow(l, ctx.media))), last: logs.at(-1)?.id ?? count(query.log) },
  };
}
