/** ToTask params (to-task.md §2, README D2, D4–D6, D12, D13). */
import { z } from 'zod';
import { ClientError } from '../../../clients/errors.ts';
import { AllowedHostError, MAX_ALLOWED_HOSTS, parseHostRules } from '../../../clients/safe-fetch/index.ts';
import type { SchemaContext } from '../../../plugins/action.ts';

/** Where the adaptive limit starts (it was the fixed default before the run found its own). */
export const DEFAULT_CONCURRENCY = 4;
/** The most tasks at once, and the adaptive limit's cap when `concurrency` is not given. */
export const MAX_CONCURRENCY = 32;
export const DEFAULT_MAX_CONNECTION_FAILURES = 5;
export const MAX_CONNECTION_FAILURES_LIMIT = 1000;

/** Each entry must parse as a host rule; the error names the entry and what is wrong with it. */
const allowedHostsSchema = z
  .array(z.string())
  .max(MAX_ALLOWED_HOSTS)
  .superRefine((entries, ctx) => {
    try {
      parseHostRules(entries, 'allowed_hosts');
    } catch (err) {
      if (!(err instanceof AllowedHostError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  })
  .default([]);

const nameSchema = z.string().superRefine((value, ctx) => {
  if (value.trim() === '') ctx.addIssue({ code: 'custom', message: '필수 값을 확인해주세요.' });
  else if (/\s/.test(value)) ctx.addIssue({ code: 'custom', message: 'name must not contain whitespace' });
});

/** An integer with the platform's messages (`z.int()` would say "valid number" for a string). */
const intField = () =>
  z.custom<number>((v) => Number.isInteger(v), {
    error: (issue) => (issue.input === undefined ? 'Field required' : 'Input should be a valid integer'),
  });

const baseShape = {
  name: nameSchema,
  description: z.string().nullable().default(null),
  project: intField(),
  agent: intField(),
  /** Any task query params; `limit` is a client-side cap (D12), `null` is sent as `key=` (D13). */
  task_filters: z.record(z.string(), z.unknown()),
  /** `file` or `inference`; other strings fail in the `method_determination` step. */
  method: z.string(),
  target_specification_name: z.string().nullable().default(null),
  pre_processor: intField().nullable().default(null),
  pre_processor_params: z.record(z.string(), z.unknown()).default({}),
  model: intField().nullable().default(null),
  /**
   * The most tasks processed at once. Unset, the run finds its own number (an adaptive limit from
   * 4 up to 32: more while throughput rises, fewer when the platform answers 429/503 or its latency
   * climbs); set, it caps that limit. Progress, metrics and the result stay exact either way.
   */
  concurrency: z
    .int()
    .min(1)
    .max(MAX_CONCURRENCY)
    .optional()
    .describe(
      'The most tasks processed at once; unset, the run adapts it (4 to 32) to the platform latency and load.',
    ),
  /**
   * Hosts the file method may download annotation files from, besides the backend's own origin
   * (`host`, `host:port`, `*.domain`, `https://host[:port]`); `SYNAPSE_ALLOWED_HOSTS` adds more.
   */
  allowed_hosts: allowedHostsSchema,
  /** Consecutive backend connection failures after which the run stops (the backend is gone). */
  max_connection_failures: z
    .int()
    .min(1)
    .max(MAX_CONNECTION_FAILURES_LIMIT)
    .default(DEFAULT_MAX_CONNECTION_FAILURES),
};

/** The params without the project check (no client needed). */
export const toTaskParamsBase = z.object(baseShape);

export type ToTaskParams = z.output<typeof toTaskParamsBase>;

/** The params schema; with a client, the project must be accessible. */
export function toTaskParamsSchema(v?: Pick<SchemaContext, 'client'>) {
  const client = v?.client ?? null;
  if (!client) return toTaskParamsBase;
  return toTaskParamsBase.superRefine(async (params, ctx) => {
    try {
      await client.getProject(params.project);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      ctx.addIssue({
        code: 'custom',
        path: ['project'],
        message: `Invalid project: Project with ID ${params.project} does not exist or is not accessible: ${err.message}`,
        params: { error_code: 'PROJECT_NOT_FOUND' },
      });
    }
  });
}
