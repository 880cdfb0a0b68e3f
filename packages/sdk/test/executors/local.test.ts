import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { failure, until, writePlugin } from '../../../../test-support/job-plugin.ts';
import { LocalExecutor, runPlugin } from '../../src/index.ts';
import { BaseAction, defineAction } from '../../src/plugins/action.ts';
import type { RuntimeContext } from '../../src/plugins/context.ts';
import {
  ExecutionError,
  PluginError,
  PluginValidationError,
  RunStoppedError,
} from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/base.ts';

/** Keeps what an action logs, and whether the executor finished it. */
class MemoryLogger extends BaseLogger {
  readonly records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

class Greet extends BaseAction<{ name: string }> {
  static override paramsSchema = z.object({ name: z.string() });
  override execute() {
    this.log('greeted', { name: this.params.name });
    return { greeting: `${this.env.getStr('GREETING')} ${this.params.name}`, jobId: this.jobId };
  }
}

describe('LocalExecutor: stopping a run (#13 item 9)', () => {
  it('hands its signal to a plain action as ctx.signal; the action stops between units and the stop comes back as is', async () => {
    const stop = new AbortController();
    const done: number[] = [];
    // A plain function action: it checks the signal before each unit of work.
    const countUp = async (_params: unknown, ctx: RuntimeContext) => {
      for (let unit = 1; unit <= 10; unit++) {
        ctx.throwIfStopped();
        done.push(unit);
        if (unit === 3) stop.abort(new Error('stopped by the user'));
        await Promise.resolve();
      }
      return { done: done.length };
    };
    const logger = new MemoryLogger();
    const executor = new LocalExecutor({ client: null, agentClient: null, logger, signal: stop.signal });
    const err = await failure(executor.execute(countUp, {}));
    expect(err).toBeInstanceOf(RunStoppedError);
    expect(err.cause).toEqual(new Error('stopped by the user'));
    expect(done).toEqual([1, 2, 3]);
    // The logger was still finished.
    expect(() => logger.info('late')).toThrow('Cannot log to a finished logger');
  });

  it('gives a run without a signal one that never aborts', async () => {
    const seen = await new LocalExecutor({ client: null, agentClient: null }).execute(
      (_params: unknown, ctx: RuntimeContext) => ({
        aborted: ctx.signal.aborted,
        isSignal: ctx.signal instanceof AbortSignal,
      }),
    );
    expect(seen).toEqual({ aborted: false, isSignal: true });
  });
});

describe('LocalExecutor', () => {
  it('runs an action in this process with the executor env and finishes the logger', async () => {
    const logger = new MemoryLogger();
    const executor = new LocalExecutor({ env: { GREETING: 'hey' }, jobId: 'j1', client: null, logger });
    expect(await executor.execute(Greet, { name: 'Ann' })).toEqual({ greeting: 'hey Ann', jobId: 'j1' });
    expect(logger.records).toMatchObject([{ kind: 'log', event: 'greeted', data: { name: 'Ann' } }]);
    expect(() => logger.info('late')).toThrow('Cannot log to a finished logger');
  });

  it('runs function actions', async () => {
    const double = defineAction(
      { name: 'double', params: z.object({ n: z.number() }) },
      (p: { n: number }) => p.n * 2,
    );
    expect(await new LocalExecutor({ client: null }).execute(double, { n: 4 })).toBe(8);
    expect(await new LocalExecutor({ client: null }).execute((p: { a: number }) => p.a + 1, { a: 1 })).toBe(
      2,
    );
  });

  it('wraps any failure as Action execution failed, keeping the cause', async () => {
    const logger = new MemoryLogger();
    const err = await failure(new LocalExecutor({ client: null, logger }).execute(Greet, {}));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toBe('Action execution failed: Parameter validation failed: name: Field required');
    expect(err.cause).toBeInstanceOf(PluginValidationError);
    expect(() => logger.info('late')).toThrow('Cannot log to a finished logger');
  });
});

describe('runPlugin', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writePlugin();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs an action of a plugin directory locally, with the config env under the caller env', async () => {
    expect(await runPlugin(dir, 'echo', { name: 'Bo' }, { client: null })).toMatchObject({
      greeting: 'hello Bo',
      pid: process.pid,
    });
    const overridden = await runPlugin(
      `${dir}/config.yaml`,
      'echo',
      { name: 'Bo' },
      { env: { GREETING: 'yo' } },
    );
    expect(overridden).toMatchObject({ greeting: 'yo Bo' });
    expect(await runPlugin(dir, 'double', { n: 5 }, { mode: 'local' })).toBe(10);
  });

  it('runs a given action class without discovery', async () => {
    expect(
      await runPlugin('unused', 'greet', { name: 'Cy' }, { actionClass: Greet, client: null }),
    ).toMatchObject({
      greeting: 'undefined Cy',
    });
  });

  it('runs task mode in a worker and job mode as a process', async () => {
    const task = (await runPlugin(dir, 'echo', { name: 'Di' }, { mode: 'task' })) as { pid: number };
    expect(task).toMatchObject({ greeting: 'hello Di' });
    expect(task.pid).not.toBe(process.pid);
    // Without `wait`, job mode answers the job's id at once; the test still waits for the job's
    // end (its result in the output), so no process of it outlives the test.
    const output: string[] = [];
    const jobId = await runPlugin(
      dir,
      'echo',
      { name: 'Ed' },
      { mode: 'job', jobId: 'run-plugin-job', onOutput: (line) => output.push(line) },
    );
    expect(jobId).toBe('run-plugin-job');
    await until(
      async () => output.join('\n'),
      (text) => text.includes('"greeting":"hello Ed"'),
    );
    expect(
      await runPlugin(dir, 'echo', { name: 'Ed' }, { mode: 'job', jobId: 'run-plugin-job-2', wait: true }),
    ).toMatchObject({ greeting: 'hello Ed', jobId: 'run-plugin-job-2' });
  });

  it('rejects an unknown mode or action', async () => {
    await expect(runPlugin(dir, 'echo', {}, { mode: 'remote' as never })).rejects.toThrow(
      'Invalid mode: remote. Use local, task, or job.',
    );
    await expect(runPlugin(dir, 'nope')).rejects.toThrow("Action 'nope' not found");
  });

  it('runs the actions of a module locally only', async () => {
    const module = pathToFileURL(join(dir, 'plugin/scalar.ts')).href;
    expect(await runPlugin(module, 'double', { n: 2 }, { client: null })).toBe(4);
    const err = await failure(runPlugin(module, 'double', { n: 2 }, { mode: 'task' }));
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe(`Mode 'task' needs a plugin directory, not a module: ${module}`);
  });
});
