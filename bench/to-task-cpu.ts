/**
 * Client CPU per task: ToTask by the file method against a raw loop of the same three requests
 * per task, both at concurrency 8 (the devserver is a child process, so `process.cpuUsage()` is
 * the client's CPU alone: user + system). Rounds interleave the two; each prints the median with
 * min and max of ms CPU per task, and the target is ToTask within 0.3 ms of the raw loop. ToTask's
 * figure is the whole run (listing the task ids, progress and metrics included).
 * `BENCH_TASKS` (default 1000), `BENCH_ROUNDS` (default 5) and `BENCH_ONLY=to-task` (no raw loop,
 * for `node --cpu-prof`) override the defaults.
 */
import { loadAverage, report, spread, startChildServer } from './lib/harness.ts';
import { toTaskFixture } from './lib/to-task-fixture.ts';

const TOTAL = Number(process.env.BENCH_TASKS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ONLY = process.env.BENCH_ONLY;
const CONCURRENCY = 8;

/** Client CPU of `run`, in ms per task: user + system, and system alone (sockets are kernel time). */
async function cpuPerTask(
  run: () => Promise<void>,
  tasks: number,
): Promise<{ total: number; system: number }> {
  const start = process.cpuUsage();
  await run();
  const { user, system } = process.cpuUsage(start);
  return { total: (user + system) / 1000 / tasks, system: system / 1000 / tasks };
}

const loadAtStart = loadAverage();
const server = await startChildServer();
try {
  const fixture = await toTaskFixture(server, TOTAL);
  const runs = [
    { name: `ToTask, concurrency ${CONCURRENCY}`, run: fixture.toTask(TOTAL, CONCURRENCY) },
    { name: `raw loop, concurrency ${CONCURRENCY}`, run: fixture.rawLoop(CONCURRENCY, TOTAL) },
  ].filter((r) => !ONLY || (ONLY === 'to-task') === r.name.startsWith('ToTask'));
  const samples = runs.map(() => [] as number[]);
  const systemSamples = runs.map(() => [] as number[]);

  // Warm-up, not measured: JIT, connection pools, each task's first write of its data.
  for (const { run } of runs) await run();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [r, { run }] of runs.entries()) {
      const { total, system } = await cpuPerTask(run, TOTAL);
      samples[r]!.push(total);
      systemSamples[r]!.push(system);
    }
  }
  await fixture.close();

  const medians = samples.map((xs) => spread(xs).median);
  const rows = runs.map(({ name }, r): [string, string] => {
    const { median, min, max } = spread(samples[r]!);
    const system = spread(systemSamples[r]!).median;
    return [
      name,
      `${median.toFixed(3)} ms CPU/task (min ${min.toFixed(3)}, max ${max.toFixed(3)}), of it system ${system.toFixed(3)}`,
    ];
  });
  if (runs.length === 2) {
    const extra = medians[0]! - medians[1]!;
    rows.push([
      'ToTask - raw loop',
      `${extra.toFixed(3)} ms (target <= 0.3: ${extra <= 0.3 ? 'met' : 'MISSED'})`,
    ]);
  }
  report(`to-task client CPU: ${TOTAL} tasks by the file method, medians of ${ROUNDS} rounds`, rows);
  console.log(`\nload average (1, 5, 15 min): at start ${loadAtStart}, at end ${loadAverage()}`);
} finally {
  await server.stop();
}
