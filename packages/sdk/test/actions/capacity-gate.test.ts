/**
 * The serve capacity gate (inference.md §7) against the devserver's agent.
 * Own server: a capacity of its own, faults on the feasibility route, and the recorded-request log cleared.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { checkServeCapacity } from '../../src/actions/inference/capacity-gate.ts';
import { AgentClient } from '../../src/clients/agent/index.ts';
import { ClientConnectionError, ClientTimeoutError, ServerError } from '../../src/clients/errors.ts';
import { RuntimeError } from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/index.ts';
import { closedPort, useDevServer } from '../helpers.ts';

const GiB = 1024 ** 3;
const h = useDevServer({ capacity: { cpus: 4, gpus: 1, memoryBytes: 8 * GiB }, faults: true });
const FEASIBILITY = '/resources/feasibility/';
const DENIED = 'Serve deploy denied: insufficient cluster capacity';

class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

let logger: RecordingLogger;
beforeEach(async () => {
  logger = new RecordingLogger();
  await h.admin('DELETE', '_emulator/requests');
});

function gate(
  actorOptions: Record<string, unknown> = {},
  serveOptions: Record<string, unknown> = {},
  agentClient: Pick<AgentClient, 'checkFeasibility'> | null = h.agent,
  agentId?: string,
) {
  return checkServeCapacity(actorOptions, serveOptions, {
    agentClient,
    pluginCode: 'my-plugin@1.0.0',
    agentId,
    logger,
  });
}

/** Bodies of the feasibility requests the agent received, oldest first. */
async function feasibilityBodies(): Promise<Array<Record<string, unknown>>> {
  const recorded: Array<{ method: string; path: string; body: Record<string, unknown> }> = await h.admin(
    'GET',
    '_emulator/requests',
  );
  return recorded
    .filter((r) => r.method === 'POST' && r.path.endsWith(`/agent${FEASIBILITY}`))
    .map((r) => r.body);
}

/** The gate's error, checked to leak neither the agent's address nor its token. */
async function gateError(run: Promise<void>): Promise<RuntimeError> {
  const err = await run.then(
    () => expect.unreachable('the gate let the deployment through'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntimeError);
  const { message } = err as RuntimeError;
  expect(message).not.toContain(new URL(h.server.agentUrl).host);
  expect(message).not.toContain(h.server.credentials.agentToken);
  return err as RuntimeError;
}

/** The next feasibility request answers 200 with this body instead of the agent's. */
const answer = (body: unknown) =>
  h.admin('POST', '_emulator/faults', { status: 200, body, path: FEASIBILITY });

describe('payload', () => {
  it('sends the defaults, in order, with null memory and an empty agent', async () => {
    await gate();
    const [body] = await feasibilityBodies();
    expect(body).toEqual({
      kind: 'serve',
      num_cpus: 1,
      num_gpus: 0,
      memory_bytes: null,
      replicas: 1,
      metadata: { plugin_code: 'my-plugin@1.0.0', agent: '' },
    });
    expect(Object.keys(body)).toEqual([
      'kind',
      'num_cpus',
      'num_gpus',
      'memory_bytes',
      'replicas',
      'metadata',
    ]);
  });

  it('coerces numbers: floats for CPU/GPU, truncated ints for memory and replicas', async () => {
    // Exactly the whole capacity: 2 × 2 CPUs, 2 × 0.5 GPU, 2 × 4 GiB.
    await gate(
      { num_cpus: '2', num_gpus: '0.5', memory: `${4 * GiB}.9`, runtime_env: {} },
      { num_replicas: 2.7 },
      h.agent,
      '7',
    );
    expect(await feasibilityBodies()).toEqual([
      {
        kind: 'serve',
        num_cpus: 2,
        num_gpus: 0.5,
        memory_bytes: 4 * GiB,
        replicas: 2,
        metadata: { plugin_code: 'my-plugin@1.0.0', agent: '7' },
      },
    ]);
  });

  it('rejects a value that is not a number before any request', async () => {
    await expect(gate({ num_cpus: 'two' })).rejects.toThrow(
      new TypeError('Cannot convert num_cpus to float: two'),
    );
    await expect(gate({ num_gpus: Number.POSITIVE_INFINITY })).rejects.toThrow(
      new TypeError('Cannot convert num_gpus to float: Infinity'),
    );
    await expect(gate({ memory: 'lots' })).rejects.toThrow(
      new TypeError('Cannot convert memory_bytes to int: lots'),
    );
    await expect(gate({}, { num_replicas: Number.NaN })).rejects.toThrow(
      new TypeError('Cannot convert replicas to int: NaN'),
    );
    expect(await feasibilityBodies()).toEqual([]);
  });
});

describe('agent answers', () => {
  it('lets an allowed deployment through', async () => {
    await expect(gate({ num_cpus: 4, num_gpus: 1, memory: 8 * GiB })).resolves.toBeUndefined();
    expect(logger.records).toEqual([]);
  });

  it('denies for lack of GPU, with the agent reason and no cause', async () => {
    const err = await gateError(gate({ num_gpus: 2 }));
    expect(err.message).toBe(`${DENIED} (['insufficient GPU: requested 2.0, available 1.0'])`);
    expect(err.cause).toBeUndefined();
  });

  it('denies for lack of CPU, counting replicas', async () => {
    const err = await gateError(gate({ num_cpus: 3 }, { num_replicas: 2 }));
    expect(err.message).toBe(`${DENIED} (['insufficient CPU: requested 6.0, available 4.0'])`);
  });

  it('denies for lack of memory', async () => {
    const err = await gateError(gate({ memory: 16 * GiB }));
    expect(err.message).toBe(
      `${DENIED} (['insufficient memory: requested 17179869184.0, available 8589934592.0'])`,
    );
  });

  it('lists every shortfall', async () => {
    const err = await gateError(gate({ num_cpus: 8, num_gpus: 1.5, memory: 9 * GiB }));
    expect(err.message).toBe(
      `${DENIED} (['insufficient CPU: requested 8.0, available 4.0', ` +
        `'insufficient GPU: requested 1.5, available 1.0', ` +
        `'insufficient memory: requested 9663676416.0, available 8589934592.0'])`,
    );
  });

  it.each([
    [["node's memory is full", 'no CPU'], `(["node's memory is full", 'no CPU'])`],
    ['one reason', '(one reason)'],
    [null, '([])'],
    [undefined, '([])'],
    ['', '([])'],
    [
      [`both ' and "`, 'back\\slash', 'a\nb\tc\rd', 42],
      `(['both \\' and "', 'back\\\\slash', 'a\\nb\\tc\\rd', 42])`,
    ],
    [[1, { a: 1 }], "([1, {'a': 1}])"],
    [[true, null, 1.5, 1e-7, [], {}], '([True, None, 1.5, 1e-07, [], {}])'],
    [{ cpu: 'short' }, "({'cpu': 'short'})"],
  ])('renders reasons %j as Python prints them', async (reasons, rendered) => {
    await answer({ allowed: false, reasons });
    const err = await gateError(gate());
    expect(err.message).toBe(`${DENIED} ${rendered}`);
  });

  it.each([
    [0, false],
    [null, false],
    ['', false],
    [[], false],
    [1, true],
    ['yes', true],
    [{ a: 1 }, true],
  ])('reads allowed %j by Python truthiness (allowed: %s)', async (allowed, passes) => {
    await answer({ allowed, reasons: ['r'] });
    if (passes) await gate();
    else expect((await gateError(gate())).message).toBe(`${DENIED} (['r'])`);
  });

  it.each([
    ['a body without allowed', { reasons: [] }],
    ['an empty object', {}],
    ['an array', [{ allowed: true }]],
    ['non-JSON text', 'ok'],
  ])('fails closed on %s', async (_what, body) => {
    await answer(body);
    const err = await gateError(gate());
    expect(err.message).toBe('Serve deploy capacity check failed: agent unreachable (MalformedResponse)');
  });
});

describe('agent unreachable', () => {
  it('fails closed on a 5xx, keeping the error as cause', async () => {
    await h.admin('POST', '_emulator/faults', { status: 500, path: FEASIBILITY });
    const err = await gateError(gate());
    expect(err.message).toBe('Serve deploy capacity check failed: agent unreachable (ServerError)');
    expect(err.cause).toBeInstanceOf(ServerError);
    expect((err.cause as ServerError).statusCode).toBe(500);
  });

  it('fails closed on a closed port', async () => {
    const token = h.server.credentials.agentToken;
    const agent = new AgentClient(`http://127.0.0.1:${await closedPort()}`, token, { retry: { total: 0 } });
    try {
      const err = await gateError(gate({}, {}, agent));
      expect(err.message).toBe(
        'Serve deploy capacity check failed: agent unreachable (ClientConnectionError)',
      );
      expect(err.cause).toBeInstanceOf(ClientConnectionError);
    } finally {
      await agent.close();
    }
  });

  it('fails closed on a timeout', async () => {
    await h.admin('POST', '_emulator/faults', { hang_ms: 3000, count: 1, path: FEASIBILITY });
    const agent = new AgentClient(h.server.agentUrl, h.server.credentials.agentToken, {
      timeout: { read: 0.3 },
    });
    try {
      const err = await gateError(gate({}, {}, agent));
      expect(err.message).toBe('Serve deploy capacity check failed: agent unreachable (ClientTimeoutError)');
      expect(err.cause).toBeInstanceOf(ClientTimeoutError);
    } finally {
      await agent.close();
    }
  });

  // Errors the AgentClient itself does not raise, but another agent client may (§7.3).
  const systemError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:8000`), { code });
  it.each([
    ['ECONNRESET', systemError('ECONNRESET'), 'ConnectionError'],
    ['EHOSTUNREACH', systemError('EHOSTUNREACH'), 'ConnectionError'],
    ['ETIMEDOUT', systemError('ETIMEDOUT'), 'TimeoutError'],
    ['EACCES', systemError('EACCES'), 'OSError'],
    ['an AbortSignal timeout', new DOMException('timed out', 'TimeoutError'), 'TimeoutError'],
    ['an abort', new DOMException('aborted', 'AbortError'), 'TimeoutError'],
    [
      'fetch failed (refused)',
      new TypeError('fetch failed', { cause: systemError('ECONNREFUSED') }),
      'ConnectionError',
    ],
    ['fetch failed (no cause)', new TypeError('fetch failed'), 'ConnectionError'],
  ])('classifies %s', async (_what, error, errorType) => {
    const err = await gateError(gate({}, {}, { checkFeasibility: () => Promise.reject(error) }));
    expect(err.message).toBe(`Serve deploy capacity check failed: agent unreachable (${errorType})`);
    expect(err.cause).toBe(error);
  });

  it('lets any other error through unwrapped', async () => {
    for (const error of [
      new Error('bug'),
      Object.assign(new TypeError('bad'), { code: 'ERR_INVALID_ARG_TYPE' }),
    ]) {
      await expect(gate({}, {}, { checkFeasibility: () => Promise.reject(error) })).rejects.toBe(error);
    }
  });
});

describe('no agent client', () => {
  it('warns and lets the deployment through without asking', async () => {
    await expect(gate({ num_gpus: 99 }, {}, null)).resolves.toBeUndefined();
    expect(logger.records).toEqual([
      expect.objectContaining({
        kind: 'log',
        level: 'warning',
        event: 'warning',
        data: { message: 'serve capacity gate skipped: agent_client not provided' },
      }),
    ]);
    expect(await feasibilityBodies()).toEqual([]);
  });
});
