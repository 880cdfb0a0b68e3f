/**
 * The dashboard in a real browser (playwright-core driving the system's Chromium) against a real
 * devserver: data goes in through the HTTP API, the pages are read as a user sees them.
 * Own server: it logs in with the server's email and password (the shared platform hands out tokens only).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { BackendClient, JobLogger } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';
import { rectanglesPng } from '../src/png.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Secrets put into job params: the dashboard must never show them. */
const PARAM_SECRET = 'param-secret-7f3a';
const URL_SIGNATURE = 'sig-secret-91bc';

let server: DevServer;
let client: BackendClient;
let browser: Browser;
let page: Page;
let dir: string;
/** The dashboard session (cookie pair) of the browser, for plain fetches too. */
let cookie: string;

async function admin(path: string, body: unknown): Promise<Record<string, number[]>> {
  const res = await fetch(`${server.url}/${path}`, {
    method: 'POST',
    headers: {
      'Synapse-Access-Token': `Token ${server.credentials.accessToken}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path} -> ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, number[]>>;
}

/** A task on a 320×200 PNG with two boxes submitted as its annotation data. */
async function annotatedTask(): Promise<number> {
  const png = rectanglesPng(
    320,
    200,
    [200, 220, 240],
    [
      { x: 20, y: 40, width: 100, height: 60, color: [200, 40, 40] },
      { x: 180, y: 90, width: 50, height: 90, color: [40, 40, 200] },
    ],
  );
  const path = join(dir, 'scene.png');
  await writeFile(path, png);
  const { data_collections } = await admin('_emulator/fixtures', {
    data_collections: [
      { name: 'Scenes', file_specifications: [{ name: 'image_1', file_type: 'image', is_primary: true }] },
    ],
  });
  const { projects } = await admin('_emulator/fixtures', {
    projects: [{ title: 'Street <review>', data_collection: data_collections[0] }],
  });
  const file = await client.createDataFile(path);
  const unit = await client.createDataUnits({
    data_collection: data_collections[0],
    files: { image_1: { checksum: file.checksum, path: file.file } },
    meta: {},
  });
  const [task] = await client.createTasks({ project: projects[0], data: [{ data_unit: unit.id }] });
  await client.annotateTaskData(task.id, {
    action: 'submit',
    data: {
      objects: [
        {
          id: 'a',
          class_id: 1,
          type: 'bbox',
          coordinates: { x: 20, y: 40, width: 100, height: 60 },
          properties: { label: 'car', confidence: 0.92 },
        },
        {
          id: 'b',
          class_id: 2,
          type: 'bbox',
          coordinates: { x: 180, y: 90, width: 50, height: 90 },
          properties: { label: 'person & <dog>', confidence: 0.875 },
        },
      ],
    },
  });
  return task.id;
}

/** A PENDING job of a `job` action (no process runs it: the server is started with runJobs off). */
async function pendingJob(): Promise<string> {
  const code = 'trainer';
  const { plugins } = await admin('_emulator/fixtures', {
    plugins: [{ code, name: 'Trainer', category: 'neural_net' }],
  });
  await admin('_emulator/fixtures', {
    plugin_releases: [
      {
        plugin: plugins[0],
        plugin_code: code,
        version: '1.0.0',
        code: `${code}@1.0.0`,
        checksum: createHash('md5').update(`${code}@1.0.0`).digest('hex'),
        config: { code, actions: { train: { method: 'job', entrypoint: 'plugin.train:Train' } } },
      },
    ],
  });
  const run = (await client.runPlugin(code, {
    agent: server.credentials.agentId,
    action: 'train',
    params: {
      epochs: 3,
      api_token: PARAM_SECRET,
      dataset_url: `https://bucket.example/data.zip?X-Amz-Signature=${URL_SIGNATURE}`,
    },
  })) as { job_id: string };
  return run.job_id;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the dashboard test drives a real browser. ` +
        'Install it with `apt-get install -y chromium` (or set CHROMIUM_PATH).',
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'devserver-ui-'));
  server = await startDevServer({ runJobs: false });
  client = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  // The dashboard asks for the platform's login first, as a person meets it.
  await page.goto(`${server.url}/ui/`);
  await page.locator('input[name="email"]').fill(server.credentials.email);
  await page.locator('input[name="password"]').fill(server.credentials.password!);
  await page.locator('form.login button[type="submit"]').click();
  await page.waitForURL(`${server.url}/ui/`);
  const session = (await page.context().cookies()).find((c) => c.name === 'synapse_dashboard');
  cookie = `${session!.name}=${session!.value}`;
});

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dashboard', () => {
  let taskId: number;
  let jobId: string;

  it('shows a task image with one box and one label per annotated object', async () => {
    taskId = await annotatedTask();
    await page.goto(`${server.url}/ui/tasks/${taskId}`);
    const figure = page.locator('figure[data-overlay]');
    // The image is served (decoded at its real size), and the overlay takes that natural size, so
    // boxes in image pixels scale with the image.
    await figure.locator('img').evaluate((img: any) => img.decode());
    expect(await figure.locator('img').evaluate((img: any) => img.naturalWidth)).toBe(320);
    await figure.locator('svg[viewBox="0 0 320 200"]').waitFor();

    const rects = figure.locator('svg rect');
    expect(await rects.count()).toBe(2);
    const boxes = await rects.evaluateAll((els) =>
      els.map((r) => ['x', 'y', 'width', 'height'].map((a) => Number(r.getAttribute(a)))),
    );
    expect(boxes).toEqual([
      [20, 40, 100, 60],
      [180, 90, 50, 90],
    ]);
    // Labels are text: the `<dog>` of a label is shown, never parsed as markup.
    expect(await figure.locator('svg text').allTextContents()).toEqual(['car 92%', 'person & <dog> 88%']);
    expect(await page.locator('dog').count()).toBe(0);

    const table = page.locator('section', { hasText: 'Objects' }).locator('tbody tr');
    expect(await table.count()).toBe(2);
    expect(await table.nth(1).textContent()).toContain('person & <dog>');

    // The project page lists the task with its object count.
    await page.locator('.crumbs').getByRole('link', { name: 'Street <review>' }).click();
    const row = page.locator('tbody tr', { hasText: `Task ${taskId}` });
    expect(await row.locator('td').nth(3).textContent()).toBe('2');
  });

  it("follows a running job's progress, metrics and logs without reloading", async () => {
    jobId = await pendingJob();
    await client.updateJob(jobId, { status: 'running' });
    await page.goto(`${server.url}/ui/jobs/${jobId}`);
    await page.locator('[data-live-job][data-state="live"]').waitFor();
    // A marker that a reload would lose.
    await page.evaluate(() => {
      (globalThis as any).notReloaded = true;
    });
    expect(await page.locator('[data-part="progress"]').textContent()).toContain('No progress reported yet.');

    // Progress, metrics and a log record sent the way a plugin's JobLogger sends them.
    const logger = new JobLogger(client, jobId, { echo: false });
    const category = page.locator('[data-category="train"]');
    logger.setProgress(1, 10, 'train');
    await category.filter({ hasText: '10%' }).waitFor();
    logger.setProgress(6, 10, 'train');
    await category.filter({ hasText: '60%' }).waitFor();
    expect(await page.locator('[data-overall]').textContent()).toBe('60%');

    logger.setMetrics({ loss: 0.25 }, 'train');
    await page.locator('[data-part="metrics"] tr', { hasText: 'loss' }).filter({ hasText: '0.25' }).waitFor();
    logger.logMessage('epoch 1 done');
    await page.locator('[data-logs] tr', { hasText: 'epoch 1 done' }).waitFor();
    await logger.finish();

    await client.updateJob(jobId, { console_logs: ['starting <train>'] });
    await page.locator('[data-console]', { hasText: 'starting <train>' }).waitFor();
    await client.updateJob(jobId, { console_logs: ['starting <train>', 'epoch 1/3'] });
    await page.locator('[data-console]', { hasText: 'epoch 1/3' }).waitFor();
    expect(await page.locator('[data-console]').textContent()).toBe('starting <train>\nepoch 1/3');

    // A final job stops the page's polling.
    await client.updateJob(jobId, { status: 'succeeded' });
    await page.locator('[data-live-job][data-state="final"]').waitFor();
    expect(await page.locator('[data-part="summary"] .badge').textContent()).toBe('SUCCEEDED');
    expect(await page.evaluate(() => (globalThis as any).notReloaded)).toBe(true);

    const params = await page.locator('section', { hasText: 'Parameters' }).textContent();
    expect(params).toContain('"epochs": 3');
    expect(params).toContain('<redacted>');
  });

  it('never renders a credential or a URL signature', async () => {
    await admin('_emulator/fixtures', {
      models: [{ name: 'detector', configuration: { password: PARAM_SECRET } }],
      serve_applications: [{ name: 'trainer@1.0.0', status: 'RUNNING', job: jobId }],
    });
    const paths = [
      '/ui/',
      '/ui/projects',
      '/ui/projects/1',
      `/ui/tasks/${taskId}`,
      '/ui/jobs',
      `/ui/jobs/${jobId}`,
      `/ui/jobs/${jobId}/live`,
      '/ui/models',
      '/ui/plugins',
      '/ui/serve-applications',
    ];
    const secrets = [
      server.credentials.accessToken,
      server.credentials.agentToken,
      PARAM_SECRET,
      URL_SIGNATURE,
    ];
    for (const path of paths) {
      const res = await fetch(`${server.url}${path}`, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      const body = await res.text();
      for (const secret of secrets) expect(body.includes(secret), `${path} shows a secret`).toBe(false);
    }
    await page.goto(`${server.url}/ui/serve-applications`);
    expect(await page.locator('tbody tr').first().textContent()).toContain('trainer@1.0.0');
    await page.goto(`${server.url}/ui/models`);
    expect(await page.locator('tbody tr').first().textContent()).toContain('detector');
  });
});
