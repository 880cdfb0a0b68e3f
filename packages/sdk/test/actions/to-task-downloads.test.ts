/**
 * ToTask's file method downloads only from allowed origins (#11 item 5): a run through a real
 * devserver whose data units point at a redirecting server and an "internal" service on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseLogger,
  PluginEnvironment,
  PluginValidationError,
  PreAnnotationToTaskFailed,
  RuntimeContext,
  ToTaskAction,
} from '../../src/index.ts';
import type { LoggerRecord } from '../../src/plugins/logging/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();

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
}

const SPECS = [
  { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
  { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
];

const annotation = (label: string) => ({
  objects: [
    { id: `o_${label}`, class_id: 1, type: 'bbox', coordinates: { x: 1, y: 2 }, properties: { label } },
  ],
});

const servers: Server[] = [];
let dir: string;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, hits };
}

let internal: Awaited<ReturnType<typeof serve>>;
let redirector: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-to-task-dl-'));
  // The "internal service": its answer is valid annotation JSON, so only the download rules stop it.
  internal = await serve((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(annotation(req.url?.includes('good') ? 'allowed' : 'STOLEN')));
  });
  redirector = await serve((req, res) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
    res.writeHead(302, { location: to });
    res.end();
  });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

const fixtures = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
  h.admin('POST', '_emulator/fixtures', body);

async function setup() {
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: SPECS }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  const imagePath = join(dir, `img-${collection}.jpg`);
  await writeFile(imagePath, 'image');
  const image = await h.client.createDataFile(imagePath);
  return { collection: collection!, project: project!, imageUrl: image.file as string };
}

/** A devserver-hosted file (the backend's own origin) with these bytes. */
async function backendFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return (await h.client.createDataFile(path)).file as string;
}

async function taskWithAnnotationUrl(collection: number, project: number, imageUrl: string, url: string) {
  const [unit] = (
    await fixtures({
      data_units: [
        {
          data_collection: collection,
          meta: {},
          files: {
            image_1: { url: imageUrl, is_primary: true, file_name_original: 'i.jpg' },
            annotation_data: { url, is_primary: false, file_name_original: 'a.json' },
          },
        },
      ],
    })
  ).data_units;
  const [task] = await h.client.createTasks({ project, data: [{ data_unit: unit }] });
  return task!.id as number;
}

function params(project: number, extra: Record<string, unknown> = {}) {
  return {
    name: 'Downloads',
    project,
    agent: 1,
    task_filters: {},
    method: 'file',
    target_specification_name: 'annotation_data',
    concurrency: 1,
    ...extra,
  };
}

describe('ToTask file downloads', () => {
  it('fetches the backend origin and allowed hosts only; redirects and internal notations fail their task', async () => {
    const { collection, project, imageUrl } = await setup();
    const ip = internal.port;
    const toInternal = (target: string) =>
      `http://127.0.0.1:${redirector.port}/r?to=${encodeURIComponent(target)}`;
    const urls: Record<string, string> = {
      backend: await backendFile('ok.json', JSON.stringify(annotation('backend'))),
      direct: `http://127.0.0.1:${ip}/secret.json?token=TOPSECRET`,
      hex: `http://0x7f000001:${ip}/secret.json`,
      decimal: `http://2130706433:${ip}/secret.json`,
      mapped: `http://[::ffff:127.0.0.1]:${ip}/secret.json`,
      redirectInternal: toInternal(`http://0x7f000001:${ip}/secret.json`),
      redirectMetadata: toInternal('http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
      redirectLocalhost: toInternal(`http://localhost:${redirector.port}/secret.json`),
      allowedByEnv: `http://localhost:${ip}/good.json`,
      noObjects: await backendFile('no-objects.json', JSON.stringify({ annotations: [{ id: 1 }] })),
    };
    const ids: Record<string, number> = {};
    for (const [key, url] of Object.entries(urls)) {
      ids[key] = await taskWithAnnotationUrl(collection, project, imageUrl, url);
    }

    const logger = new Recorder();
    const env = new PluginEnvironment({ SYNAPSE_ALLOWED_HOSTS: `localhost:${ip}, files.example.com` });
    const run = new RuntimeContext({ client: h.client, logger, env });
    // The redirector is allowed by the param: its redirect targets are checked again.
    const result = await new ToTaskAction({
      run,
      params: params(project, { allowed_hosts: [`127.0.0.1:${redirector.port}`, 'localhost'] }),
      options: { downloadTimeoutSeconds: 10 },
    }).start();

    const errors = Object.fromEntries(result.failures.map((f) => [f.task_id, f.error]));
    const errorOf = (key: string) => errors[ids[key]!];
    expect(result.status).toBe('SUCCEEDED');
    expect(result.success_count).toBe(2);
    expect(result.failed_count).toBe(8);
    const notAllowed = (host: string, url: string) =>
      `Failed to download JSON from URL: host '${host}' is not allowed ` +
      `(only the backend's origin and the allowed hosts are fetched) (${url})`;
    expect(errorOf('direct')).toBe(notAllowed(`127.0.0.1:${ip}`, `http://127.0.0.1:${ip}/secret.json`));
    expect(errorOf('hex')).toBe(notAllowed(`127.0.0.1:${ip}`, `http://127.0.0.1:${ip}/secret.json`));
    expect(errorOf('decimal')).toBe(notAllowed(`127.0.0.1:${ip}`, `http://127.0.0.1:${ip}/secret.json`));
    expect(errorOf('mapped')).toBe(
      notAllowed(`[::ffff:7f00:1]:${ip}`, `http://[::ffff:7f00:1]:${ip}/secret.json`),
    );
    expect(errorOf('redirectInternal')).toBe(
      notAllowed(`127.0.0.1:${ip}`, `http://127.0.0.1:${ip}/secret.json`),
    );
    expect(errorOf('redirectMetadata')).toBe(
      notAllowed('169.254.169.254', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
    );
    // `localhost` is allowed by the param, but without a port: it must not resolve inside.
    expect(errorOf('redirectLocalhost')).toMatch(
      new RegExp(
        `^Failed to download JSON from URL: host 'localhost' resolves to (127\\.0\\.0\\.1|::1), a loopback.* address; ` +
          `internal addresses are fetched only from the backend's origin or an allowed host named with its port`,
      ),
    );
    expect(errorOf('noObjects')).toBe(
      'Invalid JSON format in annotation file: no \'objects\' list (expected {"objects": [...]})',
    );
    expect(errorOf('backend')).toBeUndefined();
    expect(errorOf('allowedByEnv')).toBeUndefined();

    // Nothing from the internal service reached a task; the allowed files did.
    expect(internal.hits.filter((p) => p.includes('secret'))).toEqual([]);
    expect(internal.hits).toEqual(['/good.json']);
    expect(redirector.hits.filter((p) => p.startsWith('/secret'))).toEqual([]);
    expect((await h.client.getTask(ids.backend!)).data).toEqual(annotation('backend'));
    expect((await h.client.getTask(ids.allowedByEnv!)).data).toEqual(annotation('allowed'));
    for (const key of Object.keys(urls).filter((k) => k !== 'backend' && k !== 'allowedByEnv')) {
      expect((await h.client.getTask(ids[key]!)).data, key).toEqual({});
    }
    const messages = logger.messages();
    expect(messages).toContain(`[Task ${ids.noObjects}] Failed: ${errorOf('noObjects')}`);
    expect(JSON.stringify(logger.records)).not.toContain('TOPSECRET');
  });

  it('refuses a malformed allowed host, naming the entry and the rule', async () => {
    const { project } = await setup();
    const run = new RuntimeContext({ client: h.client, logger: new Recorder() });
    const err = await new ToTaskAction({
      run,
      params: params(project, { allowed_hosts: ['x.com/../admin'] }),
    })
      .start()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginValidationError);
    expect((err as PluginValidationError).message).toContain(
      "allowed_hosts: 'x.com/../admin' is not an allowed host entry: a host only, without path or query",
    );

    const envRun = new RuntimeContext({
      client: h.client,
      logger: new Recorder(),
      env: new PluginEnvironment({ SYNAPSE_ALLOWED_HOSTS: 'ok.example.com,user:pw@evil.example.com' }),
    });
    const envErr = await new ToTaskAction({ run: envRun, params: params(project) })
      .start()
      .catch((e: unknown) => e);
    expect(envErr).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect((envErr as Error).message).toBe(
      "Invalid allowed hosts: SYNAPSE_ALLOWED_HOSTS: '***@evil.example.com' is not an allowed host entry: " +
        'credentials are not allowed in an entry',
    );
    expect((envErr as Error).message).not.toContain('pw');
  });
});
