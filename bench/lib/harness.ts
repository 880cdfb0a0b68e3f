/** Shared benchmark plumbing: a devserver in a child process, timing, memory sampling, output. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** A devserver in a separate process, so its memory and CPU are not the benchmark's. */
export async function startChildServer(options: { faults?: boolean } = {}): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'synapse-bench-'));
  const child: ChildProcess = spawn(
    process.execPath,
    // The repo's sources (the packages' `synapse-source` export), however the bench was started.
    [
      '--conditions=synapse-source',
      '--import',
      'tsx',
      join(import.meta.dirname, 'devserver-child.ts'),
      dataDir,
      ...(options.faults ? ['--faults'] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`devserver exited with ${code}`)));
  });
  const { url, token } = JSON.parse(line);
  return {
    url,
    token,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
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
