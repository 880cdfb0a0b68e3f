/**
 * #13 item 8: every environment variable the SDK and the local platform read or write is defined
 * once, the run protocol's in the contract (synapse-core run-protocol.ts), the SDK's own settings
 * in src/environment.ts, which also reads and writes them all; everyone else goes through it, so
 * a name, its default and the "empty is unset" rule are written once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { JOB_ENV, RUN_ENV, SERVE_ENV } from 'synapse-core';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  backendUrlOf,
  ENV,
  envValue,
  jobEnvironment,
  readJobEnvironment,
  runConnection,
  runEnvironment,
  serveAddress,
} from '../../src/environment.ts';
import { PluginEnvironment } from '../../src/plugins/environment.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const DEFINITIONS = [
  join(ROOT, 'packages/sdk/src/environment.ts'),
  join(ROOT, 'packages/core/src/run-protocol.ts'),
];
const NAMES = new Set<string>(Object.values(ENV).map((v) => v.name));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Where code (not a comment, not a message) spells a variable's name: `env.X`, `{ X: … }`, `'X'`. */
function namedVariables(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let name: string | undefined;
    if (ts.isPropertyAccessExpression(node)) name = node.name.text;
    else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) name = node.name.text;
    else if (ts.isStringLiteralLike(node)) name = node.text;
    if (name && (NAMES.has(name) || /^(SYNAPSE|RAY)_[A-Z0-9_]+$/.test(name))) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${relative(ROOT, file)}:${line + 1} ${name}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the environment module', () => {
  it("is, with the contract's run protocol, the only module of packages/*/src that names an environment variable", () => {
    const files = [
      ...sources(join(ROOT, 'packages/core/src')),
      ...sources(join(ROOT, 'packages/sdk/src')),
      ...sources(join(ROOT, 'packages/devserver/src')),
    ];
    const elsewhere = files.filter((f) => !DEFINITIONS.includes(f)).flatMap(namedVariables);
    expect(elsewhere).toEqual([]);
  });

  it("takes the run protocol's variables from the contract, unchanged", () => {
    const protocol = { ...RUN_ENV, ...JOB_ENV, ...SERVE_ENV };
    for (const [key, variable] of Object.entries(protocol)) {
      expect(ENV[key as keyof typeof ENV]).toBe(variable);
    }
    // No SDK setting shadows a protocol variable's name.
    const names = Object.values(ENV).map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives each variable a meaning, and reads unset and empty alike, as the default', () => {
    for (const variable of Object.values(ENV)) expect(variable.meaning.length).toBeGreaterThan(10);
    expect(serveAddress({})).toBe('http://localhost:8100');
    expect(serveAddress({ RAY_SERVE_ADDRESS: '' })).toBe('http://localhost:8100');
    expect(serveAddress({ RAY_SERVE_ADDRESS: 'http://10.0.0.5:9000//' })).toBe('http://10.0.0.5:9000');
    // A plugin's environment object reads the same way as a plain record.
    const env = new PluginEnvironment({ SYNAPSE_HOST: 'http://user', SYNAPSE_PLUGIN_RUN_HOST: '' });
    expect(backendUrlOf(env)).toBe('http://user');
    expect(envValue({ get: 'not a method' } as never, ENV.host)).toBeUndefined();
  });

  it('writes the run and job environments in the form their readers read back', () => {
    const run = runEnvironment({
      host: 'http://127.0.0.1:8000',
      userToken: 'user-token',
      tenant: 'acme',
      releaseCode: 'echo@1.0.0',
      releaseChecksum: 'abc',
      agentId: '7',
      agentUrl: 'http://127.0.0.1:8000/agent',
      agentToken: 'agent-token',
    });
    expect(run).toMatchObject({ SYNAPSE_PLUGIN_RUN_HOST: 'http://127.0.0.1:8000', SYNAPSE_AGENT_ID: '7' });
    expect(runConnection(run)).toEqual({
      host: 'http://127.0.0.1:8000',
      userToken: 'user-token',
      tenant: 'acme',
    });

    const inherited = { SYNAPSE_JOB_ID: 'stale', SYNAPSE_ACTION_PARAMS: '{"stale":1}' };
    const job = {
      ...inherited,
      ...jobEnvironment({ entrypoint: 'plugin.train.Train', params: { file: '/p.json' } }),
    };
    // A local run (no job id) and params in a file: the inherited job id and params are cleared.
    expect(readJobEnvironment(job)).toEqual({
      entrypoint: 'plugin.train.Train',
      jobId: null,
      params: { file: '/p.json' },
    });
    expect(readJobEnvironment({ RAY_JOB_ID: 'raysubmit_1', SYNAPSE_ACTION_PARAMS: '{}' })).toMatchObject({
      jobId: 'raysubmit_1',
      params: { json: '{}' },
    });
  });
});
