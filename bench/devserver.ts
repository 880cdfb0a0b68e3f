/**
 * The local platform's CPU per ToTask task: the devserver in a child process answers exactly the
 * requests ToTask's file method sends per task (GET the task with `fields=id,data,data_unit` and
 * `expand=data_unit`, GET the annotation file by its signed URL, PUT `annotate_task_data` with
 * `{action: 'submit', data}`), driven by a raw undici loop at a fixed concurrency. The figure is
 * tasks per CPU-second of the devserver process (user + system from /proc/<pid>/stat, all its
 * threads), on the embedded database and on PostgreSQL by URL (a throwaway cluster started by
 * scripts/postgres.sh; its own CPU is not the devserver's and is not counted).
 *
 * Every round drives the same tasks (seeded once; each PUT writes the same data again), so the
 * figure is the steady state of a server that has seen them: the devserver keeps rows it created,
 * read or wrote in memory (db/row-cache.ts), as it does for tasks created by the same server
 * before a ToTask run; a restarted server reads each task from the database once.
 *
 * `BENCH_BASE=<checkout>` (e.g. a `git worktree` of main) runs that checkout's devserver beside
 * this one's, each on its own data, and prints this build's ratio to it; rounds interleave builds
 * and databases, alternating the order, and print medians with min and max.
 * `BENCH_TASKS` (default 2000), `BENCH_ROUNDS` (default 5), `BENCH_CONCURRENCY` (default 8),
 * `BENCH_DATABASES` (default `embedded,postgres`) and `BENCH_PROFILE=<dir>` (`--cpu-prof` of this
 * build's devservers, written there when they stop) override the defaults.
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import {
  type ChildServer,
  loadAverage,
  processCpuSeconds,
  report,
  spread,
  startChildServer,
} from './lib/harness.ts';
import { type ToTaskFixture, toTaskFixture } from './lib/to-task-fixture.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const DATABASES = (process.env.BENCH_DATABASES ?? 'embedded,postgres').split(',');
const BASE = process.env.BENCH_BASE ? resolve(process.env.BENCH_BASE) : null;
const PROFILE = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : null;
const POSTGRES_SCRIPT = join(import.meta.dirname, '../scripts/postgres.sh');

interface Subject {
  build: string;
  database: string;
  server: ChildServer;
  /** Set once the server is seeded (a server that failed to seed is still stopped). */
  fixture?: ToTaskFixture;
  rates: number[];
  wallRates: number[];
}

/** A throwaway PostgreSQL cluster with one database per build, or null when none can be started. */
async function startPostgres(builds: string[]) {
  const dir = join(tmpdir(), `synapse-bench-pg-${process.pid}`);
  const port = String(20000 + ((process.pid + 7) % 20000));
  let url: string;
  try {
    url = execFileSync(POSTGRES_SCRIPT, ['start', dir, port], { encoding: 'utf8' }).trim();
  } catch (e) {
    console.log(`PostgreSQL not available, skipped: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  for (const build of builds) await admin.query(`CREATE DATABASE bench_${build}`);
  await admin.end();
  return {
    urlOf: (build: string) => url.replace(/\/[^/]*$/, `/bench_${build}`),
    stop: () => execFileSync(POSTGRES_SCRIPT, ['stop', dir]),
  };
}

const loadAtStart = loadAverage();
const builds = [
  ...(BASE ? [{ name: 'base', entry: join(BASE, 'packages/devserver/src/index.ts') }] : []),
  { name: 'this', entry: join(import.meta.dirname, '../packages/devserver/src/index.ts') },
];
const postgres = DATABASES.includes('postgres') ? await startPostgres(builds.map((b) => b.name)) : null;
const subjects: Subject[] = [];
try {
  for (const database of DATABASES) {
    if (database === 'postgres' && !postgres) continue;
    for (const build of builds) {
      const server = await startChildServer({
        entry: build.entry,
        databaseUrl: database === 'postgres' ? postgres!.urlOf(build.name) : undefined,
        nodeArgs: PROFILE && build.name === 'this' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [],
      });
      const subject: Subject = { build: build.name, database, server, rates: [], wallRates: [] };
      subjects.push(subject);
      subject.fixture = await toTaskFixture(server, TASKS);
    }
  }

  const once = async (s: Subject) => {
    const cpuBefore = processCpuSeconds(s.server.pid);
    const start = process.hrtime.bigint();
    await s.fixture!.rawLoop(CONCURRENCY, TASKS)();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = processCpuSeconds(s.server.pid) - cpuBefore;
    return { perCpuSecond: TASKS / cpu, perSecond: TASKS / seconds };
  };
  // Warm-up, not measured: JIT, connection pools, each task's first write of its data.
  for (const s of subjects) await once(s);
  for (let round = 0; round < ROUNDS; round++) {
    // The order alternates, so neither build always runs first (after the other's warm caches).
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const s of order) {
      const { perCpuSecond, perSecond } = await once(s);
      s.rates.push(perCpuSecond);
      s.wallRates.push(perSecond);
    }
  }

  const rows: Array<[string, string]> = subjects.map((s) => {
    const { median, min, max } = spread(s.rates);
    const cpuMs = 1000 / median;
    return [
      `${s.database}, ${s.build}`,
      `${median.toFixed(0)} tasks/CPU-s (min ${min.toFixed(0)}, max ${max.toFixed(0)}), ${cpuMs.toFixed(2)} ms CPU/task; ${spread(s.wallRates).median.toFixed(0)} tasks/s`,
    ];
  });
  if (BASE) {
    for (const database of new Set(subjects.map((s) => s.database))) {
      const [base, mine] = ['base', 'this'].map((b) =>
        subjects.find((s) => s.database === database && s.build === b),
      );
      // Ratio of medians, and the spread of the per-round ratios (rounds pair the two builds).
      const ratios = mine!.rates.map((r, i) => r / base!.rates[i]!);
      const ratio = spread(mine!.rates).median / spread(base!.rates).median;
      const { min, max } = spread(ratios);
      rows.push([
        `${database}, this / base`,
        `${ratio.toFixed(2)}x tasks per CPU-second (per round min ${min.toFixed(2)}, max ${max.toFixed(2)}; target >= 2: ${ratio >= 2 ? 'met' : 'MISSED'})`,
      ]);
    }
  }
  report(
    `devserver CPU per ToTask task: ${TASKS} tasks (GET task ?expand=data_unit, GET file, PUT annotate), concurrency ${CONCURRENCY}, medians of ${ROUNDS} rounds`,
    rows,
  );
  console.log(`\nload average (1, 5, 15 min): at start ${loadAtStart}, at end ${loadAverage()}`);
} finally {
  for (const s of subjects) {
    await s.fixture?.close();
    await s.server.stop();
  }
  postgres?.stop();
  if (PROFILE) console.log(`CPU profiles of this build's devservers: ${PROFILE}`);
}
