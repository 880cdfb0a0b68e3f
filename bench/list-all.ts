/**
 * Streams 100,000 ground-truth events with `listAll` and compares it with a plain fetch loop over
 * the same pages. Each run is a fresh process (the devserver is another), so both start from the
 * same heap and neither inherits the other's garbage; rounds alternate the two. Prints items/s and
 * the peak RSS growth of each (medians with min and max), the ratio, and the load average.
 * Target: the SDK's growth under 50 MB, i.e. constant memory however many items stream by.
 *
 *   npx tsx bench/list-all.ts          (BENCH_EVENTS=<n>, default 100000; BENCH_RUNS=<rounds>, default 3)
 */
import { execFileSync } from 'node:child_process';
import { BackendClient } from 'synapse-sdk';
import { loadAverage, MB, peakRssGrowth, report, spread, startChildServer, timed } from './lib/harness.ts';

type Mode = 'sdk' | 'raw';
interface RunResult {
  items: number;
  seconds: number;
  growth: number;
}

const TOTAL = Number(process.env.BENCH_EVENTS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = 10_000;

/** One listing in this process: the SDK's `listAll`, or the same pages with plain fetch. */
async function listOnce(mode: Mode, url: string, token: string, version: number): Promise<RunResult> {
  const headers = { 'Synapse-Access-Token': `Token ${token}` };
  const client = new BackendClient(url, { accessToken: token });
  // Warm-up outside the measurement: the modules and the first connection, in both modes.
  await client.listGroundTruthEvents({ ground_truth_dataset_versions: [version] }, { pageSize: 1 });
  await (await fetch(`${url}/sdk/ground_truth_events/?page_size=1`, { headers })).json();
  const run = await timed(() =>
    peakRssGrowth(async () => {
      let n = 0;
      if (mode === 'sdk') {
        const events = await client.listGroundTruthEvents(
          { ground_truth_dataset_versions: [version] },
          { listAll: true },
        );
        for await (const _ of events) n++;
        return n;
      }
      let next: string | null =
        `${url}/sdk/ground_truth_events/?ground_truth_dataset_versions=${version}&page_size=100`;
      while (next) {
        const page = (await (await fetch(next, { headers })).json()) as {
          next: string | null;
          results: unknown[];
        };
        n += page.results.length;
        next = page.next;
      }
      return n;
    }),
  );
  await client.close();
  return { items: run.value.value, seconds: run.seconds, growth: run.value.growth };
}

if (process.argv[2] === '--child') {
  const [mode, url, token, version] = process.argv.slice(3) as [Mode, string, string, string];
  process.stdout.write(JSON.stringify(await listOnce(mode, url, token, Number(version))));
} else {
  const server = await startChildServer();
  try {
    const headers = { 'Synapse-Access-Token': `Token ${server.token}`, 'Content-Type': 'application/json' };
    const post = (body: unknown) =>
      fetch(`${server.url}/_emulator/fixtures`, { method: 'POST', headers, body: JSON.stringify(body) });
    const created = (await (
      await post({ ground_truth_dataset_versions: [{ version: 'v1' }] })
    ).json()) as Record<string, number[]>;
    const [version] = created.ground_truth_dataset_versions!;
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

    const loadBefore = loadAverage();
    const results: Record<Mode, RunResult[]> = { sdk: [], raw: [] };
    for (let round = 0; round < RUNS; round++) {
      // Alternate which goes first, so neither always meets a warmer devserver.
      const order: Mode[] = round % 2 === 0 ? ['sdk', 'raw'] : ['raw', 'sdk'];
      for (const mode of order) {
        const out = execFileSync(
          process.execPath,
          [
            '--conditions=synapse-source',
            '--import',
            'tsx',
            import.meta.filename,
            '--child',
            mode,
            server.url,
            server.token,
            String(version),
          ],
          { encoding: 'utf8', maxBuffer: 1024 * 1024 },
        );
        const result = JSON.parse(out) as RunResult;
        if (result.items !== TOTAL) throw new Error(`${mode}: expected ${TOTAL} items, got ${result.items}`);
        results[mode].push(result);
      }
    }

    const show = (xs: number[], digits: number) => {
      const { median, min, max } = spread(xs);
      return `${median.toFixed(digits)} (min ${min.toFixed(digits)}, max ${max.toFixed(digits)})`;
    };
    const rates = (mode: Mode) => results[mode].map((r) => TOTAL / r.seconds);
    const growth = (mode: Mode) => results[mode].map((r) => r.growth / MB);
    report(`list-all: ${TOTAL} ground-truth events, ${RUNS} interleaved rounds, each run a fresh process`, [
      ['sdk listAll items/s', show(rates('sdk'), 0)],
      ['raw fetch items/s (baseline)', show(rates('raw'), 0)],
      ['ratio sdk/raw (medians)', (spread(rates('sdk')).median / spread(rates('raw')).median).toFixed(2)],
      ['sdk peak RSS growth (MB)', show(growth('sdk'), 1)],
      ['raw peak RSS growth (MB)', show(growth('raw'), 1)],
      ['target sdk RSS growth', '< 50 MB'],
      ['load average (1, 5, 15 min) before', loadBefore],
      ['load average after', loadAverage()],
    ]);
  } finally {
    await server.stop();
  }
}
