/**
 * Metric histories as inline SVG line charts (no chart library: the page's CSP allows only this
 * server's own files). The history comes from the job's console log: every `setMetrics` call of a
 * job prints one `[<category>] Metrics: {...}` line there (the SDK's console format, plugins.md
 * §6.5), while `metrics_record` keeps only the latest values.
 */
import { isObject } from '../validate.ts';
import { type Html, html } from './html.ts';

const METRICS_LINE = /^(?:[A-Z]+: )?(?:\[([^\]]+)\] )?Metrics: (\{.*\})\s*$/;
/** A metric named like this, when present in the same record, is the x axis of the others. */
const X_NAMES = ['epoch', 'step', 'iteration'];
/** More points than this are thinned (evenly, keeping the last). */
const MAX_POINTS = 400;
const WIDTH = 320;
const HEIGHT = 140;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

export interface Series {
  category: string;
  metric: string;
  /** What x counts: an `epoch`/`step` metric of the same records, or the update's number. */
  xName: string;
  points: Array<[number, number]>;
}

/** Every numeric metric's values over the run, by category, in the order they were reported. */
export function metricSeries(lines: string[]): Series[] {
  const series = new Map<string, Series>();
  const updates = new Map<string, number>();
  for (const line of lines) {
    const match = METRICS_LINE.exec(line);
    if (!match) continue;
    let values: unknown;
    try {
      values = JSON.parse(match[2]);
    } catch {
      continue;
    }
    if (!isObject(values)) continue;
    const category = match[1] ?? 'metrics';
    const update = (updates.get(category) ?? 0) + 1;
    updates.set(category, update);
    const xName = X_NAMES.find((name) => typeof values[name] === 'number');
    const x = xName ? (values[xName] as number) : update;
    for (const [metric, value] of Object.entries(values)) {
      if (metric === xName || typeof value !== 'number' || !Number.isFinite(value)) continue;
      const key = `${category}\u0000${metric}`;
      let entry = series.get(key);
      if (!entry) {
        entry = { category, metric, xName: xName ?? 'update', points: [] };
        series.set(key, entry);
      }
      entry.points.push([x, value]);
    }
  }
  return [...series.values()];
}

function thin(points: Array<[number, number]>): Array<[number, number]> {
  if (points.length <= MAX_POINTS) return points;
  const step = points.length / MAX_POINTS;
  const kept = Array.from({ length: MAX_POINTS - 1 }, (_, i) => points[Math.floor(i * step)]);
  return [...kept, points[points.length - 1]];
}

const label = (n: number) => String(Math.round(n * 1e4) / 1e4);

function chart(s: Series): Html {
  const points = thin(s.points);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const w = WIDTH - PAD.left - PAD.right;
  const hgt = HEIGHT - PAD.top - PAD.bottom;
  // A flat series sits in the middle rather than on an edge.
  const px = (x: number) => PAD.left + (x1 === x0 ? w / 2 : ((x - x0) / (x1 - x0)) * w);
  const py = (y: number) => PAD.top + (y1 === y0 ? hgt / 2 : (1 - (y - y0) / (y1 - y0)) * hgt);
  const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
  const [lastX, lastY] = points[points.length - 1];
  const title = `${s.category} · ${s.metric}`;
  return html`<figure class="chart" data-chart="${title}" data-points="${s.points.length}">
<figcaption><strong>${title}</strong> <span>latest ${label(lastY)}</span></figcaption>
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${`${title}: ${s.points.length} values, from ${label(ys[0])} to ${label(lastY)}`}">
<line class="axis" x1="${PAD.left}" y1="${PAD.top + hgt}" x2="${PAD.left + w}" y2="${PAD.top + hgt}"></line>
<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + hgt}"></line>
<text class="tick" x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end">${label(y1)}</text>
<text class="tick" x="${PAD.left - 4}" y="${PAD.top + hgt}" text-anchor="end">${label(y0)}</text>
<text class="tick" x="${PAD.left}" y="${HEIGHT - 6}">${label(x0)}</text>
<text class="tick" x="${PAD.left + w}" y="${HEIGHT - 6}" text-anchor="end">${s.xName} ${label(x1)}</text>
<polyline class="line" points="${path}"></polyline>
<circle class="dot" cx="${px(lastX).toFixed(1)}" cy="${py(lastY).toFixed(1)}" r="3"></circle>
</svg>
</figure>`;
}

/** One chart per metric with two values or more; nothing when no metric has a history yet. */
export function metricCharts(lines: string[]): Html {
  const plotted = metricSeries(lines).filter((s) => s.points.length >= 2);
  if (plotted.length === 0) return html``;
  return html`<div class="charts">${plotted.map(chart)}</div>`;
}
