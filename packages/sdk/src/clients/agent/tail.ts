/**
 * `AgentClient.tailJobLogs` (client.md §10): a job's log lines over WebSocket or a streamed
 * HTTP GET. The WebSocket variant needs the `ws` package, which this SDK does not ship, so
 * `auto` streams over HTTP, exactly as its fallback rule prescribes.
 */
import { ClientError, StreamLimitExceededError } from '../errors.ts';
import type { BaseClient } from '../http.ts';

export type TailProtocol = 'auto' | 'websocket' | 'http';

export interface TailOptions {
  /** Idle timeout in seconds of the WebSocket stream; default 30. */
  timeout?: number;
  protocol?: TailProtocol;
  /** Most WebSocket messages read before giving up; default 10 000. */
  maxMessages?: number;
  signal?: AbortSignal;
}

const JOB_ID = /^[A-Za-z0-9_-]+$/;
const PROTOCOLS: TailProtocol[] = ['auto', 'websocket', 'http'];
const MAX_LINES = 100_000;
const MAX_BYTES = 50 * 1024 * 1024;

/** Validates the arguments at once (before any connection), then streams lazily. */
export function tailJobLogs(
  client: BaseClient,
  jobId: string,
  opts: TailOptions = {},
): AsyncIterable<string> {
  const { timeout = 30, protocol = 'auto' } = opts;
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId))
    throw new ClientError(400, `Invalid job id: ${jobId}`);
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw new ClientError(400, `Invalid timeout: ${timeout}`);
  if (!PROTOCOLS.includes(protocol)) throw new ClientError(400, `Invalid protocol: ${protocol}`);
  if (protocol === 'http') return tailHttp(client, jobId, opts.signal);
  if (protocol === 'websocket') return tailWebSocket();
  return tailAuto(client, jobId, opts.signal);
}

// biome-ignore lint/correctness/useYield: it fails before its first message, by design.
async function* tailWebSocket(): AsyncGenerator<string> {
  throw new ClientError(500, 'ws package required for WebSocket streaming');
}

/** WebSocket first; HTTP when it cannot start (a 500 or 503 before any message). */
async function* tailAuto(client: BaseClient, jobId: string, signal?: AbortSignal): AsyncGenerator<string> {
  let started = false;
  try {
    for await (const message of tailWebSocket()) {
      started = true;
      yield message;
    }
  } catch (err) {
    const fallback = err instanceof ClientError && (err.statusCode === 500 || err.statusCode === 503);
    if (started || !fallback) throw err;
    yield* tailHttp(client, jobId, signal);
  }
}

/**
 * The non-empty lines of `GET ray/jobs/<id>/logs`, streamed without read timeout. An agent that
 * answers the whole log at once as `{"logs": "<text>"}` (the devserver does) gets its text split
 * into lines too.
 */
async function* tailHttp(client: BaseClient, jobId: string, signal?: AbortSignal): AsyncGenerator<string> {
  let lines = 0;
  let bytes = 0;
  for await (const raw of client.streamLines(`ray/jobs/${jobId}/logs`, { signal })) {
    bytes += Buffer.byteLength(raw) + 1;
    if (bytes > MAX_BYTES) throw new StreamLimitExceededError(429, 'Stream size limit exceeded');
    for (const line of logLines(raw)) {
      if (++lines > MAX_LINES) throw new StreamLimitExceededError(429, 'Stream line limit exceeded');
      yield line;
    }
  }
}

function logLines(raw: string): string[] {
  if (raw.startsWith('{')) {
    try {
      const body = JSON.parse(raw);
      if (typeof body?.logs === 'string') return body.logs.split('\n').filter(Boolean);
    } catch {
      // Not JSON: an ordinary log line that starts with a brace.
    }
  }
  return raw ? [raw] : [];
}
