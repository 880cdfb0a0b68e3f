import { availableParallelism, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  checkFeasibility,
  freeCapacity,
  machineCapacity,
  parseFeasibilityRequest,
  reservedBy,
} from '../src/agent/feasibility.ts';
import { clusterSnapshot, rayNodes } from '../src/agent/resources.ts';
import { ApiError } from '../src/errors.ts';

const capacity = { cpus: 8, gpus: 2, memoryBytes: 16 * 1024 ** 3 };

function request(body: Record<string, unknown>) {
  return parseFeasibilityRequest({ kind: 'serve', ...body });
}

describe('machineCapacity', () => {
  it('is this machine by default, with no GPU', () => {
    expect(machineCapacity()).toEqual({ cpus: availableParallelism(), gpus: 0, memoryBytes: totalmem() });
  });

  it('takes each override separately', () => {
    expect(machineCapacity({ gpus: 4 })).toEqual({
      cpus: availableParallelism(),
      gpus: 4,
      memoryBytes: totalmem(),
    });
    expect(machineCapacity({ cpus: 2, memoryBytes: 100 })).toMatchObject({ cpus: 2, memoryBytes: 100 });
  });
});

describe('parseFeasibilityRequest', () => {
  it('fills the capacity gate defaults', () => {
    expect(parseFeasibilityRequest({ kind: 'serve' })).toEqual({
      kind: 'serve',
      num_cpus: 1,
      num_gpus: 0,
      memory_bytes: null,
      replicas: 1,
      metadata: {},
    });
  });

  it('answers 422 in the FastAPI shape, one entry per problem', () => {
    const err = (() => {
      try {
        parseFeasibilityRequest({ num_cpus: 'two', num_gpus: -1, replicas: 1.5, memory_bytes: 2.5 });
      } catch (e) {
        return e as ApiError;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect(err?.statusCode).toBe(422);
    expect(err?.body).toEqual({
      detail: [
        { type: 'missing', loc: ['body', 'kind'], msg: 'Field required' },
        {
          type: 'float_type',
          loc: ['body', 'num_cpus'],
          msg: 'Input should be a valid number',
          input: 'two',
        },
        {
          type: 'greater_than_equal',
          loc: ['body', 'num_gpus'],
          msg: 'Input should be greater than or equal to 0',
          input: -1,
        },
        {
          type: 'int_from_float',
          loc: ['body', 'memory_bytes'],
          msg: 'Input should be a valid integer, got a number with a fractional part',
          input: 2.5,
        },
        {
          type: 'int_from_float',
          loc: ['body', 'replicas'],
          msg: 'Input should be a valid integer, got a number with a fractional part',
          input: 1.5,
        },
      ],
    });
  });

  it('rejects a body that is not an object', () => {
    expect(() => parseFeasibilityRequest([1])).toThrow(ApiError);
    expect(() => parseFeasibilityRequest(undefined)).toThrow(/valid dictionary/);
  });
});

describe('reservedBy and freeCapacity', () => {
  it('reads params before data, times num_replicas', () => {
    expect(
      reservedBy({
        name: 'a',
        num_replicas: 2,
        params: { num_cpus: 1.5, num_gpus: 0.5 },
        data: { num_cpus: 9 },
      }),
    ).toEqual({
      cpus: 3,
      gpus: 1,
      memoryBytes: 0,
    });
    expect(reservedBy({ name: 'b', data: { memory: 1024 } })).toEqual({
      cpus: 1,
      gpus: 0,
      memoryBytes: 1024,
    });
  });

  it('subtracts running apps, except the one being replaced', () => {
    const apps = [
      { name: 'a@1', params: { num_cpus: 2, num_gpus: 1 } },
      { name: 'b@1', params: { num_cpus: 1, num_gpus: 0.5, memory: 1024 ** 3 } },
    ];
    expect(freeCapacity(capacity, apps)).toEqual({ cpus: 5, gpus: 0.5, memoryBytes: 15 * 1024 ** 3 });
    expect(freeCapacity(capacity, apps, 'a@1')).toEqual({ cpus: 7, gpus: 1.5, memoryBytes: 15 * 1024 ** 3 });
  });

  it('never goes below zero and does not drift on fractions', () => {
    const apps = [0.1, 0.2, 0.3].map((g, i) => ({ name: `g${i}`, params: { num_cpus: 0, num_gpus: g } }));
    expect(freeCapacity({ ...capacity, gpus: 0.6 }, apps).gpus).toBe(0);
    expect(
      freeCapacity({ cpus: 1, gpus: 0, memoryBytes: 0 }, [{ name: 'x', params: { num_cpus: 4 } }]),
    ).toEqual({
      cpus: 0,
      gpus: 0,
      memoryBytes: 0,
    });
  });
});

describe('checkFeasibility', () => {
  it('allows what fits, counting every replica', () => {
    const result = checkFeasibility(request({ num_cpus: 2, num_gpus: 0.5, replicas: 4 }), capacity);
    expect(result).toEqual({
      allowed: true,
      reasons: [],
      requested: { num_cpus: 8, num_gpus: 2, memory_bytes: 0 },
      available: { num_cpus: 8, num_gpus: 2, memory_bytes: 16 * 1024 ** 3 },
    });
  });

  it('gives one reason per shortfall, numbers with a decimal', () => {
    const free = { cpus: 1, gpus: 1, memoryBytes: 1000 };
    expect(checkFeasibility(request({ num_gpus: 2 }), free).reasons).toEqual([
      'insufficient GPU: requested 2.0, available 1.0',
    ]);
    const result = checkFeasibility(
      request({ num_cpus: 1.5, num_gpus: 0.75, memory_bytes: 600, replicas: 2 }),
      free,
    );
    expect(result.allowed).toBe(false);
    expect(result.reasons).toEqual([
      'insufficient CPU: requested 3.0, available 1.0',
      'insufficient GPU: requested 1.5, available 1.0',
      'insufficient memory: requested 1200.0, available 1000.0',
    ]);
  });

  it('accepts integers and floats alike, and checks memory only when given', () => {
    const free = { cpus: 1, gpus: 0, memoryBytes: 0 };
    expect(checkFeasibility(request({ num_cpus: 1, num_gpus: 0 }), free).allowed).toBe(true);
    expect(
      checkFeasibility(request({ num_cpus: 1.0, num_gpus: 0.0, memory_bytes: null }), free).allowed,
    ).toBe(true);
    expect(checkFeasibility(request({ num_cpus: 0.5, memory_bytes: 1 }), free).reasons).toEqual([
      'insufficient memory: requested 1.0, available 0.0',
    ]);
  });
});

describe('cluster resources (resources/cluster/)', () => {
  it("sums Ray's nodes when the agent runs on a Ray cluster", () => {
    const snapshot = clusterSnapshot(
      rayNodes([
        { nodeId: 'head', total: { CPU: 8, GPU: 1, memory: 16 }, used: { CPU: 2, GPU: 1, memory: 4 } },
        { nodeId: 'worker', total: { CPU: 4, GPU: 2, memory: 8 }, used: { CPU: 0, GPU: 0.5, memory: 0 } },
      ]),
      { runningJobs: 1, serveReplicas: 3 },
    );
    expect(snapshot).toMatchObject({
      cpu: { total: 12, used: 2, available: 10 },
      memory: { total: 24, used: 4, available: 20 },
      gpu: { total_gpus: 3, available_gpus: 1.5 },
      running_jobs: 1,
      total_serve_replicas: 3,
      node_counts: { total: 2, alive: 2, dead: 0 },
    });
    expect(snapshot.nodes.map((n) => [n.node_id, n.is_head_node, n.gpus.length])).toEqual([
      ['head', true, 1],
      ['worker', false, 2],
    ]);
  });
});
