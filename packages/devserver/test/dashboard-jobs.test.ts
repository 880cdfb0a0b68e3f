/**
 * The dashboard's job, task and serve-application pages in a real browser (#15 items 2 and 7):
 * metric histories as charts, the run's duration, the progress table at 1400 px, the Stop button
 * of a running job, pre-annotated tasks, and calling and stopping a serve application. Real jobs
 * run (the devserver's job runner) and a real deployment serves (its serve gateway).
 * Own server: it logs in with the server's email and password, and hosts serving.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { type Browser, chromium, type Page } from 'playwright-core';
import { BackendClient } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/job-plugin.ts';
import { echoModel, echoServe, publishPreProcessor } from '../../../test-support/serve-plugins.ts';
import { type DevServer, startDevServer } from '../src/index.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'];
const CODE = 'dash-trainer';

const TRAIN = `
import { BaseAction, z } from 'synapse-sdk';
export class Train extends BaseAction<{ epochs: number }> {
  static paramsSchema = z.object({ epochs: z.number().int().min(1) });
  static progressCategories = { train: { proportion: 70 }, evaluate: { proportion: 30 } };
  async execute() {
    const { epochs } = this.params;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      this.setProgress(epoch, epochs, 'train');
      this.setMetrics({ epoch, loss: 1 / epoch, accuracy: 1 - 1 / (epoch + 1) }, 'train');
    }
    this.setProgress(1, 1, 'evaluate');
    return { epochs };
  }
}
`;

const FOREVER = `
import { defineAction } from 'synapse-sdk';
export const forever = defineAction({ name: 'forever', stoppable: true }, async (_params, ctx) => {
  for (let n = 1; ; n++) {
    ctx.throwIfStopped();
    console.log('tick ' + n);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});
`;

const CONFIG = {
  name: 'Dashboard trainer',
  code: CODE,
  version: '1.0.0',
  category: 'neural_net',
  description: '',
  actions: {
    train: { entrypoint: 'plugin.train.Train', method: 'job' },
    forever: { entrypoint: 'plugin/forever.ts:forever', method: 'job' },
  },
};

let server: DevServer;
let client: BackendClient;
let browser: Browser;
let page: Page;
let dir: string;

async function fixtures(body: unknown): Promise<Record<string, number[]>> {
  const res = await fetch(`${server.url}/_emulator/fixtures`, {
    method: 'POST',
    headers: {
      'Synapse-Access-Token': `Token ${server.credentials.accessToken}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`fixtures -> ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, number[]>>;
}

async function runJob(action: string, params: Record<string, unknown>): Promise<string> {
  const run = (await client.runPlugin(CODE, { agent: server.credentials.agentId, action, params })) as {
    job_id: string;
  };
  return run.job_id;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'dashboard-jobs-'));
  server = await startDevServer({ serve: { port: 0 }, capacity: { cpus: 16 } });
  client = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
  const files = {
    'config.yaml': JSON.stringify(CONFIG),
    'package.json': '{"type": "module"}\n',
    'plugin/train.ts': TRAIN,
    'plugin/forever.ts': FOREVER,
  };
  await client.createPluginRelease(
    { plugin: CODE, version: '1.0.0', config: CONFIG },
    {
      file: {
        data: zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, strToU8(t)]))),
        filename: 'plugin.zip',
      },
    },
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${server.url}/ui/`);
  await page.locator('input[name="email"]').fill(server.credentials.email);
  await page.locator('input[name="password"]').fill(server.credentials.password!);
  await page.locator('form.login button[type="submit"]').click();
  await page.waitForURL(`${server.url}/ui/`);
});

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the job page', () => {
  it("plots each metric's history, shows the run's duration, and fits the progress table at 1400 px", async () => {
    const jobId = await runJob('train', { epochs: 5 });
    await until(
      () => client.getJob(jobId),
      (job) => job.status === 'SUCCEEDED',
    );
    await page.goto(`${server.url}/ui/jobs/${jobId}`);

    // One chart per metric, every reported value a point; `epoch` is the x axis, not a chart.
    const loss = page.locator('[data-chart="train · loss"]');
    expect(await loss.getAttribute('data-points')).toBe('5');
    const points = (await loss.locator('polyline').getAttribute('points'))!.split(' ');
    expect(points).toHaveLength(5);
    // Loss falls: each point lower on the chart (a larger y) than the one before.
    const ys = points.map((p) => Number(p.split(',')[1]));
    expect(ys).toEqual([...ys].sort((a, b) => a - b));
    expect(await loss.locator('figcaption').textContent()).toBe('train · loss latest 0.2');
    expect(await page.locator('[data-chart="train · accuracy"]').getAttribute('data-points')).toBe('5');
    expect(await page.locator('[data-chart="train · epoch"]').count()).toBe(0);
    expect(await loss.locator('svg').isVisible()).toBe(true);
    // The latest values stay readable as a table.
    await page.locator('[data-part="metrics"] tr', { hasText: 'loss' }).filter({ hasText: '0.2' }).waitFor();

    const duration = page.locator('[data-part="summary"] dt', { hasText: 'Duration' }).locator('xpath=../dd');
    expect(await duration.textContent()).toMatch(/^(\d+s|\d+m \d\ds)$/);
    // A finished job has nothing to stop.
    expect(await page.locator('[data-stop]').count()).toBe(0);

    // Every column of the progress table is inside its card at 1400 px, and still on a phone.
    for (const width of [1400, 700]) {
      await page.setViewportSize({ width, height: 900 });
      const fit = await page.locator('.progress-table').evaluate((table) => {
        const wrap = table.parentElement!;
        const card = table.closest('section')!.getBoundingClientRect();
        const last = table.querySelector('thead th:last-child')!.getBoundingClientRect();
        return {
          overflow: wrap.scrollWidth - wrap.clientWidth,
          lastRight: last.right,
          cardRight: card.right,
        };
      });
      if (width === 1400) {
        expect(fit.overflow, 'no horizontal scrolling at 1400 px').toBe(0);
        expect(fit.lastRight).toBeLessThanOrEqual(fit.cardRight);
      }
      expect(await page.locator('[data-category="evaluate"]').isVisible()).toBe(true);
    }
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('stops a running job with its Stop button', async () => {
    const jobId = await runJob('forever', {});
    await until(
      () => client.getJob(jobId),
      (job) => job.status === 'RUNNING' && String(job.console_logs).includes('tick 2'),
    );
    await page.goto(`${server.url}/ui/jobs/${jobId}`);
    const duration = page.locator('[data-part="summary"] dt', { hasText: 'Duration' }).locator('xpath=../dd');
    expect(await duration.textContent()).toMatch(/ so far$/);
    await page.locator('[data-stop]').click();
    await page.waitForURL(`${server.url}/ui/jobs/${jobId}`);
    expect(await page.locator('[data-part="summary"] .badge').textContent()).toBe('STOPPED');
    expect(await page.locator('[data-stop]').count()).toBe(0);
    expect(await duration.textContent()).not.toMatch(/so far/);
    expect((await client.getJob(jobId)).status).toBe('STOPPED');
    // A final record (completed stamped) is what makes the job runner stop the process.
    expect((await server.ctx.collections.jobs.get(jobId))?.completed).toEqual(expect.any(String));
  });
});

describe('tasks', () => {
  it('a pending task that holds pre-annotations says so, on the project and on the task', async () => {
    const { projects } = await fixtures({ projects: [{ title: 'Pre-annotated' }] });
    const objects = [
      { id: 'a', class_id: 1, type: 'bbox', coordinates: { x: 1, y: 2, width: 3, height: 4 } },
    ];
    const { tasks } = await fixtures({
      tasks: [
        { project: projects[0], status: 'pending', data: { objects } },
        { project: projects[0], status: 'pending', data: {} },
      ],
    });
    await page.goto(`${server.url}/ui/projects/${projects[0]}`);
    const status = (id: number) =>
      page
        .locator('tbody tr', { hasText: `Task ${id}` })
        .locator('td')
        .nth(2)
        .textContent();
    expect(await status(tasks[0])).toBe('pendingpre-annotated');
    expect(await status(tasks[1])).toBe('pending');
    expect(
      await page
        .locator('tbody tr', { hasText: `Task ${tasks[0]}` })
        .locator('.status-pre_annotated')
        .getAttribute('title'),
    ).toBe('1 object from a pre-annotation, not yet reviewed');

    await page.goto(`${server.url}/ui/tasks/${tasks[0]}`);
    const fact = page.locator('dt', { hasText: 'Status' }).locator('xpath=../dd');
    expect(await fact.textContent()).toBe('pendingpre-annotated');
  });
});

describe('a serve application page', () => {
  it('calls the application with JSON input and shows its answer, then stops it', async () => {
    const code = 'dash-echo';
    await publishPreProcessor(client, dir, code, echoServe(), 'EchoServe');
    const model = await echoModel(client, dir, 'cat');
    await client.runPlugin(code, { agent: server.credentials.agentId, action: 'deployment' });
    const app = await until(
      async () => (await client.listServeApplications({ name: `${code}@1.0.0` }))[0][0],
      (a) => a !== undefined && a.status !== 'DEPLOYING',
    );
    expect(app.status).toBe('RUNNING');

    await page.goto(`${server.url}/ui/serve-applications`);
    await page.getByRole('link', { name: `${code}@1.0.0` }).click();
    await page.waitForURL(`${server.url}/ui/serve-applications/${app.id}`);
    await page.locator('textarea[name="json"]').fill('{"inputs": [1, 2]}');
    await page.locator('input[name="model"]').fill(String(model));
    await page.getByRole('button', { name: 'Call' }).click();
    const answer = JSON.parse((await page.locator('[data-call-answer] pre').textContent())!);
    expect(answer).toMatchObject({ model: 'cat', input: { inputs: [1, 2] } });
    // The form keeps what was sent, for the next call.
    expect(await page.locator('textarea[name="json"]').inputValue()).toBe('{"inputs": [1, 2]}');

    await page.locator('textarea[name="json"]').fill('{"inputs": ');
    await page.getByRole('button', { name: 'Call' }).click();
    expect(await page.locator('[data-call-error]').textContent()).toMatch(/^The input is not valid JSON: /);

    await page.getByRole('button', { name: 'Stop application' }).click();
    await page.waitForURL(`${server.url}/ui/serve-applications`);
    expect(await page.getByRole('link', { name: `${code}@1.0.0` }).count()).toBe(0);
    expect((await client.listServeApplications({ name: `${code}@1.0.0` }))[1]).toBe(0);
    // Its replicas are gone from the serve gateway as well.
    expect(await server.ctx.serveHost!.backend.status(`${code}@1.0.0`)).toBeNull();
  });
});
