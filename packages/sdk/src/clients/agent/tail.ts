/**
 * `AgentClient.tailJobLogs` (client.md §10): a job's log lines over WebSocket (undici's
 * spec-compliant client, so no `ws` package) or a streamed HTTP GET; `auto` tries the socket and
 * falls back to HTTP when it cannot start.
 */
import { WebSocket } from 'undici';
import { ClientError, StreamLimitExceededError, WebSocketError } from '../errors.ts';
import type { BaseClient } from '../http.ts';

export type TailProtocol = 'auto' | 'websocket' | 'http';

export interface TailOptions {
  /** Idle timeout in seconds of the WebSocket stream; default 30. */
  timeout?: number;
  protocol?: TailProtocol;
  /** Most log messages read over WebSocket before giving up; default 10 000. */
  maxMessages?: number;
  signal?: AbortSignal;
}

interface SocketOptions {
  timeout: number;
  maxMessages: number;
  signal?: AbortSignal;
}

const JOB_ID = /^[A-Za-z0-9_-]+$/;
const PROTOCOLS: TailProtocol[] = ['auto', 'websocket', 'http'];
const MAX_LINES = 100_000;
const MAX_BYTES = 50 * 1024 * 1024;
const MAX_FRAME_BYTES = 1024 * 1024;

/** Validates the arguments at once (before any connection), then streams lazily. */
export function tailJobLogs(
  client: BaseClient,
  jobId: string,
  opts: TailOptions = {},
): AsyncIterable<string> {
  const { timeout = 30, protocol = 'auto', maxMessages = 10_000, signal } = opts;
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId))
    throw new ClientError(400, `Invalid job id: ${jobId}`);
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw new ClientError(400, `Invalid timeout: ${timeout}`);
  if (!PROTOCOLS.includes(protocol)) throw new ClientError(400, `Invalid protocol: ${protocol}`);
  if (protocol === 'http') return tailHttp(client, jobId, signal);
  const socket = { timeout, maxMessages, signal };
  if (protocol === 'websocket') return tailWebSocket(client, jobId, socket);
  return tailAuto(client, jobId, socket);
}

type SocketEvent =
  | { kind: 'open' }
  | { kind: 'message'; data: string | ArrayBuffer }
  | { kind: 'overflow' }
  | { kind: 'close' }
  | { kind: 'idle' };

function frameBytes(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

/**
 * The socket's events in arrival order; `next` answers `idle` when none comes within `idleMs`.
 * Memory stays bounded however slowly the consumer reads: a frame over 1 MiB is dropped as it
 * arrives, and past `maxMessages` unread messages the socket is closed and `overflow` queued
 * (more messages than the stream may yield anyway).
 */
function socketEvents(socket: WebSocket, maxMessages: number): (idleMs: number) => Promise<SocketEvent> {
  const queue: SocketEvent[] = [];
  let unread = 0;
  let overflowed = false;
  let wake: (() => void) | undefined;
  const push = (event: SocketEvent) => {
    queue.push(event);
    wake?.();
  };
  socket.addEventListener('open', () => push({ kind: 'open' }));
  socket.addEventListener('message', (e) => {
    if (overflowed || frameBytes(e.data) > MAX_FRAME_BYTES) return;
    if (unread >= maxMessages) {
      overflowed = true;
      push({ kind: 'overflow' });
      socket.close();
      return;
    }
    unread++;
    push({ kind: 'message', data: e.data as string | ArrayBuffer });
  });
  // A failure fires `error` and then `close`: `close` alone tells all.
  socket.addEventListener('close', () => push({ kind: 'close' }));
  return async (idleMs) => {
    if (queue.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, idleMs);
      });
      clearTimeout(timer);
      wake = undefined;
    }
    const event = queue.shift() ?? { kind: 'idle' };
    if (event.kind === 'message') unread--;
    return event;
  };
}

/**
 * `ray/jobs/<id>/logs/` over ws/wss with the client's auth headers. Yields each log message as
 * the HTTP mode yields lines (no trailing newline, empty ones dropped). The socket is closed
 * however the stream ends, including a consumer that stops early.
 */
async function* tailWebSocket(
  client: BaseClient,
  jobId: string,
  opts: SocketOptions,
): AsyncGenerator<string> {
  opts.signal?.throwIfAborted();
  const url = client.buildUrl(`ray/jobs/${jobId}/logs/`).replace(/^http/i, 'ws');
  const socket = new WebSocket(url, { headers: client.getHeaders() });
  socket.binaryType = 'arraybuffer';
  const next = socketEvents(socket, opts.maxMessages);
  const abort = () => socket.close();
  opts.signal?.addEventListener('abort', abort);
  let open = false;
  let messages = 0;
  try {
    for (;;) {
      const event = await next(opts.timeout * 1000);
      if (event.kind === 'open') {
        open = true;
        continue;
      }
      if (event.kind === 'overflow') throw new StreamLimitExceededError(429, 'Stream message limit exceeded');
      if (event.kind !== 'message') {
        opts.signal?.throwIfAborted();
        if (open) return; // Closed by the agent, or idle for `timeout` seconds.
        // undici reports no cause (and a cause could name the agent's host), so the text is fixed.
        const reason = event.kind === 'idle' ? 'timed out' : 'closed before the handshake completed';
        throw new WebSocketError(503, `WebSocket connection failed: ${reason}`);
      }
      const text = typeof event.data === 'string' ? event.data : Buffer.from(event.data).toString();
      const frame = parseFrame(text);
      if (frame.type === 'error')
        throw new WebSocketError(500, messageText(frame.message) || 'Unknown error');
      if (frame.type === 'complete') return;
      const message = messageText(frame.message);
      if (!message) continue;
      if (++messages > opts.maxMessages)
        throw new StreamLimitExceededError(429, 'Stream message limit exceeded');
      yield message;
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    socket.close();
  }
}

/** A frame is JSON `{type?, message}`; anything else is a plain message. */
function parseFrame(text: string): { type?: unknown; message?: unknown } {
  try {
    const frame = JSON.parse(text);
    if (frame && typeof frame === 'object' && !Array.isArray(frame)) return frame;
  } catch {
    // Not JSON: the frame is the message.
  }
  return { message: text };
}

function messageText(message: unknown): string {
  if (message === undefined || message === null) return '';
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** WebSocket first; HTTP when it cannot start (a 500 or 503 before any message). */
async function* tailAuto(client: BaseClient, jobId: string, opts: SocketOptions): AsyncGenerator<string> {
  let started = false;
  try {
    for await (const message of tailWebSocket(client, jobId, opts)) {
      started = true;
      yield message;
    }
  } catch (err) {
    const fallback = err instanceof ClientError && (err.statusCode === 500 || err.statusCode === 503);
    if (started || !fallback) throw err;
    yield* tailHttp(client, jobId, opts.signal);
  }
}

/**
 * The non-empty lines of `GET ray/jobs/<id>/logs`, streamed without read timeout. An agent that
 * answers the whole log at once as `{"logs": "<text>"}` (the devserver does) gets its text split
 * into lines too.
 */
async function* tailHttp(client: BaseClient, jobId: string, signal?: AbortSignal): AsyncGenerator<string> {
  let lines = 0;
  for await (const raw of client.streamLines(`ray/jobs/${jobId}/logs`, { signal }, MAX_BYTES)) {
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
