/**
 * Secrets stay out of everything the platform shows or stores for display: a real job process
 * prints the run's user token, the agent token, the access token, a DSN and a URL with passwords
 * and an `Authorization` header, and puts the same into its metrics, log records and result; its
 * params carry them too. The dashboard (behind its login), its live JSON, the console log API
 * and the log records must hold none of them, and show masks instead.
 * Own server: it logs in to the dashboard with the server's email and password (the shared platform hands out tokens only).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BackendClient } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';

const DSN = 'postgres://app:dsn-pass-5521@db.internal/main';
const URL_WITH_USERINFO = 'https://reader:url-pass-7734@files.example/data.zip';
const BEARER = 'bearer-secret-8812abcd';

const LEAK_ACTION = `
import { writeFileSync } from 'node:fs';
import { BaseAction } from 'synapse-sdk';
export class LeakAction extends BaseAction {
  async execute() {
    const p = this.params;
    const user = process.env.SYNAPSE_PLUGIN_RUN_USER_TOKEN;
    const agent = process.env.SYNAPSE_AGENT_TOKEN;
    // The test learns the run's user token from this file: it is issued for the run only.
    writeFileSync(p.out, user);
    const lines = ['user ' + user, 'agent ' + agent, 'access ' + p.access, 'db ' + p.database,
      'fetch ' + p.source, 'Authorization: Bearer ' + p.bearer];
    for (const line of lines) console.log(line);
    this.setMetrics({ note: 'user ' + user, db: p.database }, 'train');
    this.log('leak', { message: 'agent ' + agent + ' at ' + p.source, detail: { header: 'Bearer ' + p.bearer } });
    this.logMessage('access ' + p.access);
    return { lines, agent, user };
  }
}
`;
const CONFIG = {
  name: 'Leaky',
  code: 'leaky',
  version: '1.0.0',
  category: 'neural_net',
  actions: { leak: { entrypoint: 'plugin.leak.LeakAction', method: 'job' } },
};
const CONFIG_YAML = `name: Leaky
code: leaky
version: "1.0.0"
category: neural_net
actions:
  leak:
    entrypoint: plugin.leak.LeakAction
    method: job
`;

let server: DevServer;
let client: BackendClient;
let dir: string;
let cookie: string;

async function login(): Promise<string> {
  const res = await fetch(`${server.url}/ui/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: server.credentials.email, password: server.credentials.password! }),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devserver-secrets-'));
  server = await startDevServer();
  client = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
  const files = {
    'config.yaml': CONFIG_YAML,
    'package.json': '{"type": "module"}\n',
    'plugin/leak.ts': LEAK_ACTION,
  };
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
  await client.createPluginRelease(
    { plugin: 'leaky', version: '1.0.0', config: CONFIG },
    { file: { data: zip, filename: 'plugin.zip' } },
  );
  cookie = await login();
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function finished(jobId: string): Promise<Record<string, any>> {
  for (;;) {
    const job = (await client.getJob(jobId)) as Record<string, any>;
    if (['SUCCEEDED', 'FAILED', 'STOPPED'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('secrets in job output', () => {
  it('are masked in the console log, log records, the job page and its live JSON', async () => {
    const out = join(dir, 'user-token');
    const { accessToken, agentToken } = server.credentials;
    const params = {
      out,
      access: accessToken,
      database: DSN,
      source: URL_WITH_USERINFO,
      bearer: BEARER,
      header: `Authorization: Bearer ${BEARER}`,
      note: `agent ${agentToken}`,
    };
    const run = (await client.runPlugin('leaky', {
      agent: server.credentials.agentId,
      action: 'leak',
      params,
    })) as { job_id: string };
    const job = await finished(run.job_id);
    expect(job.status, JSON.stringify(job.console_logs)).toBe('SUCCEEDED');
    const userToken = await readFile(out, 'utf8');
    expect(userToken).toMatch(/^syn_/);
    const secrets = [userToken, agentToken, accessToken, 'dsn-pass-5521', 'url-pass-7734', BEARER];

    const consoleLog = JSON.stringify(await client.listJobConsoleLogs(run.job_id));
    const records = JSON.stringify(await client.get('logs/', { params: { job: run.job_id } }));
    const ui = (path: string) => fetch(`${server.url}${path}`, { headers: { cookie } });
    const page = await (await ui(`/ui/jobs/${run.job_id}`)).text();
    const live = await (await ui(`/ui/jobs/${run.job_id}/live?console=0&log=0`)).text();
    const shown = { consoleLog, records, page, live };
    for (const [where, text] of Object.entries(shown)) {
      for (const secret of secrets)
        expect(text.includes(secret), `${where} shows ${secret.slice(0, 12)}`).toBe(false);
    }
    // What was masked is still recognisable.
    expect(consoleLog).toContain('postgres://app:***@db.internal/main');
    expect(consoleLog).toContain('https://reader:***@files.example/data.zip');
    expect(consoleLog).toContain('Authorization: Bearer ***');
    expect(consoleLog).toContain('"agent ***"');
    expect(consoleLog).toContain('"user ***"');
    expect(records).toContain('Bearer ***');
    expect(page).toContain('Job <code>');
    expect(page).toContain('postgres://app:***@db.internal/main');
    expect(page).toContain('agent ***');
    expect(JSON.parse(live).parts.result).toContain('***');
  });
});
