/**
 * ToTask notices that the backend is gone (#11 item 7): after a bounded number of consecutive
 * connection failures the run stops with a critical error and rolls back; task failures the
 * backend answered, and successes, reset the count.
 * Own servers: the backend is closed mid-run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevServer, startDevServer } from 'synapse-devserver';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BackendClient,
  BaseLogger,
  PreAnnotationToTaskFailed,
  RuntimeContext,
  ToTaskAction,
  type ToTaskConverter,
} from '../../src/index.ts';
import type { LoggerRecord } from '../../src/plugins/logging/index.ts';

class Recorder extends BaseLogger {
  records: LoggerRecord[] = [];
  protected write(record: LoggerRecord): void {
    this.records.push(record);
  }
  messages() {
    return this.records.flatMap((r) =>
      r.kind === 'log' && r.event === 'message' ? [r.data.content as string] : [],
    );
  }
  metrics() {
    return this.records.flatMap((r) => (r.kind === 'metrics' ? [r.value] : []));
  }
}

const SPECS = [
  { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
  { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
];
const DATA = { objects: [{ id: 'o', class_id: 1, type: 'bbox', coordinates: { x: 1 }, properties: {} }] };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function devServer(): Promise<{ server: DevServer; admin: BackendClient }> {
  const server = await startDevServer();
  let closed = false;
  const admin = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
  const close = server.close.bind(server);
  // Closed at most once: by the test mid-run, or here.
  server.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  cleanups.push(
    () => admin.close(),
    () => server.close(),
  );
  return { server, admin };
}

async function fixtures(
  server: DevServer,
  body: Record<string, unknown[]>,
): Promise<Record<string, number[]>> {
  const res = await fetch(`${server.url}/_emulator/fixtures`, {
    method: 'POST',
    headers: {
      'Synapse-Access-Token': `Token ${server.credentials.accessToken}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`fixtures -> ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, number[]>;
}

/** `count` tasks; those listed in `withoutAnnotation` lack the target file (a task reason to fail). */
async function tasks(
  server: DevServer,
  admin: BackendClient,
  count: number,
  withoutAnnotation: number[] = [],
) {
  const dir = await mkdtemp(join(tmpdir(), 'sdk-to-task-gone-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'i.jpg'), 'image');
  const image = (await admin.createDataFile(join(dir, 'i.jpg'))).file as string;
  const [collection] = (
    await fixtures(server, { data_collections: [{ name: 'C', file_specifications: SPECS }] })
  ).data_collections;
  const [project] = (await fixtures(server, { projects: [{ title: 'P', data_collection: collection }] }))
    .projects;
  const units = (
    await fixtures(server, {
      data_units: Array.from({ length: count }, (_, i) => ({
        data_collection: collection,
        meta: {},
        files: {
          image_1: { url: image, is_primary: true, file_name_original: 'i.jpg' },
          ...(withoutAnnotation.includes(i)
            ? {}
            : { annotation_data: { url: image, is_primary: false, file_name_original: `${i}.json` } }),
        },
      })),
    })
  ).data_units;
  const created = await admin.createTasks({ project: project!, data: units.map((u) => ({ data_unit: u })) });
  const byUnit = new Map(created.map((t) => [t.data_unit, t.id as number]));
  return { project: project!, ids: units.map((u) => byUnit.get(u)!) };
}

/**
 * A TCP proxy in front of the devserver that can drop the next `n` connections (the client sees
 * the connection reset), like a backend going away and coming back.
 */
async function flakyProxy(targetPort: number) {
  let drop = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (drop > 0) {
      drop -= 1;
      client.destroy();
      return;
    }
    const upstream = createConnection(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    outage(connections: number) {
      drop = connections;
    },
  };
}

/** A client that does not retry and opens one connection per request (no keep-alive). */
function runClient(url: string, token: string): BackendClient {
  const dispatcher = new Agent({ pipelining: 0 });
  const client = new BackendClient(url, { accessToken: token, retry: { total: 0 }, dispatcher });
  cleanups.push(
    () => dispatcher.close(),
    () => client.close(),
  );
  return client;
}

const params = (project: number, extra: Record<string, unknown> = {}) => ({
  name: 'Backend_Gone',
  project,
  agent: 1,
  task_filters: {},
  method: 'file',
  target_specification_name: 'annotation_data',
  concurrency: 1,
  ...extra,
});

describe('ToTask when the backend goes away', () => {
  it('stops with BACKEND_UNREACHABLE after 5 consecutive connection failures when the devserver is closed mid-run', async () => {
    const { server, admin } = await devServer();
    const { project, ids } = await tasks(server, admin, 10);
    const logger = new Recorder();
    const run = new RuntimeContext({ client: runClient(server.url, server.credentials.accessToken), logger });
    let converted = 0;
    let rolledBack = false;
    const converter: ToTaskConverter = {
      async convertDataFromFile() {
        converted += 1;
        if (converted === 1) converter.context?.rollbackActions.push(() => (rolledBack = true));
        // The platform goes down while the third task is being converted.
        if (converted === 3) await server.close();
        return DATA;
      },
      convertDataFromInference: (data) => data as object,
    };

    const err = await new ToTaskAction({ run, params: params(project), converter })
      .start()
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect((err as Error).message).toBe(
      'Critical error occurred during task processing: the backend is unreachable ' +
        '(5 consecutive connection failures, last: Backend connection refused)',
    );
    const messages = logger.messages();
    expect(messages).toContain(
      'The backend is unreachable: 5 consecutive connection failures (last: Backend connection refused). Stopping the job.',
    );
    expect(messages).toContain('Critical error occured while processing task. Stopping the job.');
    expect(messages).not.toContain('ToTask action completed successfully.');
    // Tasks 1-2 done, 3 (its submit) and 4-7 refused, 8-10 never started.
    expect(logger.metrics().at(-1)).toEqual({ total: 10, success: 2, failed: 5, stand_by: 3 });
    expect(messages.filter((m) => m.startsWith('[Task '))).toEqual([
      `[Task ${ids[2]}] Failed: Failed to submit annotation data: Backend connection refused`,
      ...ids.slice(3, 7).map((id) => `[Task ${id}] Failed: Backend connection refused`),
    ]);
    // Rolled back as for any critical error: progress marked failed, rollback actions run.
    expect(rolledBack).toBe(true);
    expect(logger.records.some((r) => r.kind === 'progress_failed' && r.key === 'annotate_task_data')).toBe(
      true,
    );
  });

  it('counts only consecutive connection failures: a success or a task failure the backend answered resets the count', async () => {
    const { server, admin } = await devServer();
    // Task index 2 has no annotation file: it fails for a task reason.
    const { project, ids } = await tasks(server, admin, 12, [2]);
    const proxy = await flakyProxy(Number(new URL(server.url).port));
    const logger = new Recorder();
    const run = new RuntimeContext({ client: runClient(proxy.url, server.credentials.accessToken), logger });
    const converter: ToTaskConverter = {
      convertDataFromFile(_p, _pn, _u, _un, task) {
        const index = ids.indexOf((task as { id: number }).id);
        // Two connections lost (this task's submit, the next task's fetch): 2 < 3, the run goes on.
        if (index === 0 || index === 3) proxy.outage(2);
        // From task 7 on the backend stays away: 3 in a row stop the run.
        if (index === 6) proxy.outage(Number.POSITIVE_INFINITY);
        return DATA;
      },
      convertDataFromInference: (data) => data as object,
    };

    const err = await new ToTaskAction({
      run,
      params: params(project, { max_connection_failures: 3 }),
      converter,
    })
      .start()
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect((err as Error).message).toMatch(
      /^Critical error occurred during task processing: the backend is unreachable \(3 consecutive connection failures, last: Backend connection error: .+\)$/,
    );
    const failed = logger
      .messages()
      .filter((m) => m.startsWith('[Task '))
      .map((m) => ids.indexOf(Number(/^\[Task (\d+)\]/.exec(m)![1])));
    // 0,1 lost; 2 a task reason; 3,4 lost; 5 succeeded; 6,7,8 lost -> stop; 9-11 never started.
    expect(failed).toEqual([0, 1, 2, 3, 4, 6, 7, 8]);
    expect(logger.messages()).toContain(`[Task ${ids[2]}] Failed: File specification not found`);
    expect(logger.metrics().at(-1)).toEqual({ total: 12, success: 1, failed: 8, stand_by: 3 });
  });
});
