/** Shared benchmark plumbing: a devserver in a child process, timing, memory sampling, output. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildServer {
  url: string;
  token: string;
  /** The server's data directory (a bench may clean up what a round left there). */
  dataDir: string;
  /** The devserver's process id (its CPU time is in /proc/<pid>/stat). */
  pid: number;
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  faults?: boolean;
  /**
   * The devserver module to run (`packages/devserver/src/index.ts` of some checkout, resolving its
   * imports from that checkout), so one bench can run two builds side by side; default this repo's.
   */
  entry?: string;
  /** A PostgreSQL URL instead of the embedded database (passed in the environment, not argv). */
  databaseUrl?: string;
  /** Extra node options for the child (`--cpu-prof`, ...). */
  nodeArgs?: string[];
}

/** A devserver in a separate process, so its memory and CPU are not the benchmark's. */
export async function startChildServer(options: ChildServerOptions = {}): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'synapse-bench-'));
  try {
    const env = { ...process.env };
    if (options.entry) env.SYNAPSE_BENCH_DEVSERVER = options.entry;
    if (options.databaseUrl) env.SYNAPSE_BENCH_DATABASE_URL = options.databaseUrl;
    const child = await startChild<{ url: string; token: string }>(
      join(import.meta.dirname, 'devserver-child.ts'),
      [dataDir, ...(options.faults ? ['--faults'] : [])],
      { env, nodeArgs: options.nodeArgs },
    );
    return {
      ...child.info,
      dataDir,
      pid: child.pid,
      async stop() {
        await child.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

export interface Child<T> {
  /** What the child printed as JSON on its first line of stdout. */
  info: T;
  pid: number;
  /** Ends the child (SIGTERM) and resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Runs `script` (the repo's TypeScript, with the packages' `synapse-source` export, however the
 * bench was started) in a child process and resolves with the JSON of its first stdout line. The
 * child's stdin is a pipe from this process: a child that calls `closeWhenParentSays` also ends
 * when this process dies without stopping it.
 */
export async function startChild<T>(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<Child<T>> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--conditions=synapse-source', '--import', 'tsx', script, ...args],
    { stdio: ['pipe', 'pipe', 'inherit'], env: options.env ?? process.env },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code, signal) => reject(new Error(`${script} exited with ${signal ?? code}`)));
    });
    return { info: JSON.parse(line) as T, pid: child.pid!, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * In a child started by `startChild`: runs `close` and exits on SIGTERM or SIGINT, or when the
 * parent's end of stdin closes (the parent died), so that a failed bench leaves nothing running.
 */
export function closeWhenParentSays(close: () => Promise<void>): void {
  let closing = false;
  const end = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
  process.stdin.once('end', end);
  process.stdin.resume();
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. On a
 * shared machine CPU time says more than wall time about which side does the work.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): utime and stime are
    // the 12th and 13th, in clock ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
  } catch {
    return Number.NaN;
  }
}

let ticksPerSecond: number | undefined;
function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** Samples RSS while `fn` runs; returns the peak growth over the RSS at the start, in bytes. */
export async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ value: T; growth: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

export const MB = 1024 * 1024;

export function report(name: string, rows: Array<[string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${name}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}

/** The machine's 1, 5 and 15 minute load averages (it is shared: say how busy it was). */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Median, min and max of a run's samples. */
export function spread(xs: number[]): { median: number; min: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
