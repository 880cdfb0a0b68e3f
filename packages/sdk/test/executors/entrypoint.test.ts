import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePlugin } from '../../../../test-support/job-plugin.ts';
import { parseResult } from '../../src/index.ts';
import { ExecutionError } from '../../src/plugins/errors.ts';

const BIN = fileURLToPath(new URL('../../bin/synapse-entrypoint.js', import.meta.url));

describe('parseResult', () => {
  it('reads the block after the last start marker line, up to the next end marker line', () => {
    expect(parseResult('__SYNAPSE_RESULT_START__\n{"a":1}\n__SYNAPSE_RESULT_END__\n')).toEqual({ a: 1 });
    const output = [
      'noise',
      '__SYNAPSE_RESULT_START__',
      '{"fake":true}',
      '__SYNAPSE_RESULT_END__',
      'between',
      '__SYNAPSE_RESULT_START__\r',
      '{"real":"__SYNAPSE_RESULT_END__"}\r',
      '__SYNAPSE_RESULT_END__\r',
      'after',
    ].join('\n');
    expect(parseResult(output)).toEqual({ real: '__SYNAPSE_RESULT_END__' });
  });

  it('is null without a complete block', () => {
    expect(parseResult('')).toBeNull();
    expect(parseResult('no markers at all')).toBeNull();
    expect(parseResult('__SYNAPSE_RESULT_START__\n{"a":1}\n')).toBeNull();
    expect(parseResult('x __SYNAPSE_RESULT_START__\n{"a":1}\n__SYNAPSE_RESULT_END__')).toBeNull();
  });

  it('rejects a block that is not JSON', () => {
    const err = (() => {
      try {
        parseResult('__SYNAPSE_RESULT_START__\nnot json\n__SYNAPSE_RESULT_END__');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err?.message).toMatch(/^Invalid job result: /);
  });
});

describe('synapse-entrypoint', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writePlugin();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Runs the bin in the plugin dir with only these protocol variables (no credentials: a ConsoleLogger run). */
  function run(env: Record<string, string>) {
    const result = spawnSync(process.execPath, [BIN], {
      cwd: dir,
      env: { PATH: process.env.PATH, SYNAPSE_CONFIG_DIR: dir, ...env },
      encoding: 'utf8',
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('prints the result between the markers, wrapping non-objects', () => {
    const echo = run({
      SYNAPSE_ACTION_ENTRYPOINT: 'plugin.echo.EchoAction',
      SYNAPSE_ACTION_PARAMS: '{"name":"Ann"}',
    });
    expect(echo.stderr).toBe('');
    expect(echo.code).toBe(0);
    expect(echo.stdout).toContain('\n__SYNAPSE_RESULT_START__\n{"greeting":"undefined Ann","jobId":null,');
    expect(parseResult(echo.stdout)).toMatchObject({ greeting: 'undefined Ann', jobId: null });

    const double = run({
      SYNAPSE_ACTION_ENTRYPOINT: 'plugin/scalar.ts:double',
      SYNAPSE_ACTION_PARAMS: '{"n":21}',
      SYNAPSE_JOB_ID: 'job-1',
    });
    expect(double.stdout).toContain('__SYNAPSE_RESULT_START__\n{"result":42}\n__SYNAPSE_RESULT_END__\n');
  });

  it('reads params from a file, and takes RAY_JOB_ID as the job id', async () => {
    const file = join(dir, '.synapse_params.json');
    await writeFile(file, JSON.stringify({ name: 'File' }));
    const { code, stdout } = run({
      SYNAPSE_ACTION_ENTRYPOINT: 'plugin.echo.EchoAction',
      SYNAPSE_ACTION_PARAMS_FILE: file,
      RAY_JOB_ID: 'ray-7',
      GREETING: 'hi',
    });
    expect(code).toBe(0);
    expect(parseResult(stdout)).toMatchObject({ greeting: 'hi File', jobId: 'ray-7' });
  });

  it('fails with ERROR: <Name>: <message> on stderr, exit 1 and no markers', () => {
    expect(run({})).toMatchObject({
      code: 1,
      stderr: 'ERROR: ExecutionError: SYNAPSE_ACTION_ENTRYPOINT not set\n',
    });
    expect(run({ SYNAPSE_ACTION_ENTRYPOINT: 'plugin.echo.EchoAction' })).toMatchObject({
      code: 1,
      stderr:
        'ERROR: ExecutionError: No params provided via SYNAPSE_ACTION_PARAMS or SYNAPSE_ACTION_PARAMS_FILE\n',
    });
    const fail = run({ SYNAPSE_ACTION_ENTRYPOINT: 'plugin.fail.FailAction', SYNAPSE_ACTION_PARAMS: '{}' });
    expect(fail).toMatchObject({ code: 1, stderr: 'ERROR: Error: boom\n' });
    expect(fail.stdout).not.toContain('__SYNAPSE_RESULT_START__');
    const invalid = run({ SYNAPSE_ACTION_ENTRYPOINT: 'plugin.echo.EchoAction', SYNAPSE_ACTION_PARAMS: '{}' });
    expect(invalid.stderr).toBe(
      'ERROR: PluginValidationError: Parameter validation failed: name: Field required\n',
    );
    const missing = run({ SYNAPSE_ACTION_ENTRYPOINT: 'plugin.nope.Action', SYNAPSE_ACTION_PARAMS: '{}' });
    expect(missing.stderr).toMatch(
      /^ERROR: ActionNotFoundError: Cannot resolve entrypoint 'plugin.nope.Action'/,
    );
  });
});
