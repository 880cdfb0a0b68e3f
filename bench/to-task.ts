/**
 * ToTask by the file method against a raw loop of the same three requests per task that ToTask
 * makes (GET the task with `expand=data_unit`, GET its annotation file, PUT `annotate_task_data`;
 * checked against the devserver's recorded requests before timing), in two scenarios: the local
 * devserver as it is, and with 20 ms added to every request (`hang_ms`, a remote platform).
 * ToTask runs at its default, the adaptive limit; the raw loop at each fixed concurrency 1, 4, 8,
 * 16 and 32. Rounds interleave every run of both scenarios; each run's tasks/s is given as the
 * median with min and max, and the target is adaptive ≥ 0.9 of the raw loop's best concurrency
 * in each scenario. The ToTask time is the whole run (it also lists the task ids and writes its
 * progress and metrics); the raw loop only does the three requests.
 * `BENCH_TASKS` (default 1000; the raw loop at concurrency 1 does a fifth of them, its rate is
 * the same and it would take minutes) and `BENCH_ROUNDS` (default 3) override the sizes.
 */
import { loadAverage, report, spread, startChildServer, timed } from './lib/harness.ts';
import { toTaskFixture } from './lib/to-task-fixture.ts';

const TOTAL = Number(process.env.BENCH_TASKS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FIXED = [1, 4, 8, 16, 32];
const ADDED_MS = 20;

const loadAtStart = loadAverage();
const server = await startChildServer({ faults: true });
try {
  const { admin, rawOnce, rawLoop, toTask, perTask, taskIds, close } = await toTaskFixture(server, TOTAL);

  // What ToTask sends per task, from the devserver's record of one task's run, next to the raw loop's.
  const sdkShape = await perTask(toTask(1));
  const rawShape = await perTask(() => rawOnce(taskIds[0]!));
  if (JSON.stringify(sdkShape) !== JSON.stringify(rawShape))
    throw new Error(`ToTask per task: ${sdkShape.join(', ')}; raw loop: ${rawShape.join(', ')}`);
  console.log(`per task, ToTask and the raw loop both send: ${sdkShape.join(', ')}`);

  const scenarios = [
    { name: 'no added latency', fault: null },
    { name: `${ADDED_MS} ms added per request`, fault: { hang_ms: ADDED_MS, count: 1e9 } },
  ];
  const runs = [
    { name: 'ToTask, adaptive default', run: toTask(), tasks: TOTAL },
    ...FIXED.map((c) => {
      const n = c === 1 ? Math.ceil(TOTAL / 5) : TOTAL;
      return { name: `raw loop, concurrency ${c}`, run: rawLoop(c, n), tasks: n, fixed: c };
    }),
  ];
  const rates = scenarios.map(() => runs.map(() => [] as number[]));

  // Warm-up, not timed: JIT on both sides, connection pools, each task's first write of its data.
  await rawLoop(8, TOTAL)();
  await toTask()();

  // Rounds interleave every run of both scenarios, so drift (the devserver warming up, the
  // shared machine's other work) spreads over all of them alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [s, scenario] of scenarios.entries()) {
      await admin('DELETE', 'faults');
      if (scenario.fault) await admin('POST', 'faults', scenario.fault);
      for (const [r, { run, tasks }] of runs.entries())
        rates[s]![r]!.push(tasks / (await timed(run)).seconds);
    }
  }
  await admin('DELETE', 'faults');
  await close();

  const fmt = (xs: number[]) => {
    const { median, min, max } = spread(xs);
    return `${median.toFixed(0)} tasks/s (min ${min.toFixed(0)}, max ${max.toFixed(0)})`;
  };
  for (const [s, scenario] of scenarios.entries()) {
    const medians = rates[s]!.map((xs) => spread(xs).median);
    const adaptive = medians[0]!;
    const best = medians.slice(1).reduce((b, m, i) => (m > medians[b + 1]! ? i : b), 0) + 1;
    const ratio = adaptive / medians[best]!;
    report(`to-task, ${scenario.name}: ${TOTAL} tasks by the file method, medians of ${ROUNDS} rounds`, [
      ...runs.map(({ name, tasks }, r): [string, string] => [
        `${name}${tasks === TOTAL ? '' : ` (${tasks} tasks)`}`,
        `${fmt(rates[s]![r]!)}${r === 0 ? '' : `  adaptive/this ${(adaptive / medians[r]!).toFixed(2)}`}`,
      ]),
      [
        `adaptive / best raw (${runs[best]!.name})`,
        `${ratio.toFixed(2)} (target >= 0.9: ${ratio >= 0.9 ? 'met' : 'MISSED'})`,
      ],
    ]);
  }
  console.log(`\nload average (1, 5, 15 min): at start ${loadAtStart}, at end ${loadAverage()}`);
} finally {
  await server.stop();
}
