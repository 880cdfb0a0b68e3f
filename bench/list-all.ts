/**
 * Streams 100,000 ground-truth events with `listAll` and compares it with a plain fetch loop
 * over the same pages (the baseline, same process). Prints items/s, the ratio, and the peak RSS
 * growth of the streaming run (target: under 50 MB, i.e. constant memory).
 */
import { BackendClient } from 'synapse-sdk';
import { MB, peakRssGrowth, report, startChildServer, timed } from './lib/harness.ts';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 10_000;

const server = await startChildServer();
try {
  const headers = { 'Synapse-Access-Token': `Token ${server.token}`, 'Content-Type': 'application/json' };
  const post = (body: unknown) =>
    fetch(`${server.url}/_emulator/fixtures`, { method: 'POST', headers, body: JSON.stringify(body) });
  const created = (await (
    await post({ ground_truth_dataset_versions: [{ version: 'v1' }] })
  ).json()) as Record<string, number[]>;
  const [version] = created.ground_truth_dataset_versions;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => ({
      ground_truth_dataset_version: version,
      category: 'train',
      data: { annotations: { image_1: [{ class_id: 1, bbox: [i, i, 10, 10] }] } },
      files: { image_1: { url: `${server.url}/media/x/${start + i}.jpg`, is_primary: true } },
    }));
    const res = await post({ ground_truth_events: events });
    if (!res.ok) throw new Error(`fixtures: ${res.status}`);
  }

  // Baseline: the same pages with a plain fetch loop, no SDK.
  const raw = await timed(async () => {
    let n = 0;
    let next: string | null =
      `${server.url}/sdk/ground_truth_events/?ground_truth_dataset_versions=${version}&page_size=100`;
    while (next) {
      const page = (await (await fetch(next, { headers })).json()) as {
        next: string | null;
        results: unknown[];
      };
      n += page.results.length;
      next = page.next;
    }
    return n;
  });

  const client = new BackendClient(server.url, { accessToken: server.token });
  const sdk = await timed(() =>
    peakRssGrowth(async () => {
      const events = await client.listGroundTruthEvents(
        { ground_truth_dataset_versions: [version] },
        { listAll: true },
      );
      let n = 0;
      for await (const _ of events) n++;
      return n;
    }),
  );
  await client.close();
  if (sdk.value.value !== TOTAL || raw.value !== TOTAL)
    throw new Error(`expected ${TOTAL} items, got ${sdk.value.value}/${raw.value}`);

  const rate = (n: number, s: number) => Math.round(n / s);
  report(`list-all: ${TOTAL} ground-truth events`, [
    ['sdk listAll items/s', rate(TOTAL, sdk.seconds)],
    ['raw fetch items/s (baseline)', rate(TOTAL, raw.seconds)],
    ['ratio sdk/raw', (raw.seconds / sdk.seconds).toFixed(2)],
    ['peak RSS growth (MB)', (sdk.value.growth / MB).toFixed(1)],
    ['target RSS growth', '< 50 MB'],
  ]);
} finally {
  await server.stop();
}
