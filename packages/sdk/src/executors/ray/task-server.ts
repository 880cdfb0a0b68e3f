/**
 * The warm worker of `RayTaskExecutor`, run as a long-lived Ray job: a `TaskExecutor` (one worker
 * process that keeps plugin modules imported) behind a loopback HTTP endpoint. It prints its
 * address for the executor, which reads it from the job's logs, and takes only requests that
 * carry the token the executor put in its environment.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ENV, envValue } from '../../environment.ts';
import { TaskExecutor } from '../task.ts';

export const ADDRESS_MARKER = '__SYNAPSE_TASK_WORKER__';

export interface TaskRequest {
  entrypoint: string;
  params: unknown;
  job_id: string | null;
}

export type TaskResponse = { result: unknown } | { error: { name: string; message: string } };

async function main(): Promise<void> {
  const token = envValue(process.env, ENV.taskWorkerToken);
  const executor = new TaskExecutor({ workingDir: process.cwd() });
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(403).end();
      return;
    }
    const chunks: Buffer[] = [];
    let task: TaskRequest;
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
      task = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TaskRequest;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const { entrypoint, params, job_id } = task;
    const reply: TaskResponse = await executor.execute(entrypoint, params, { jobId: job_id }).then(
      (result) => ({ result: result ?? null }),
      (err: Error) => ({ error: { name: err.name, message: err.message } }),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`${ADDRESS_MARKER} http://127.0.0.1:${port}`);
  });
  // Ray stops the job with SIGTERM.
  process.once('SIGTERM', () => void executor.close().finally(() => process.exit(0)));
}

// Run as the job's program, not when imported for the types and the marker.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
