/**
 * The HTTP transport shared by the backend and agent clients (client.md §3): URL building,
 * headers, bodies, connect/read timeouts, retries with backoff, and error mapping.
 */

import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResponseShape } from 'synapse-core';
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import { ENV, envValue } from '../environment.ts';
import {
  ClientConnectionError,
  ClientTimeoutError,
  FileNotFoundError,
  ResponseContractError,
  raiseForStatus,
  ServerError,
  StreamLimitExceededError,
} from './errors.ts';
import { encodeMultipart, type MultipartFile } from './multipart.ts';
import { appendQuery, buildUrl, type QueryParams } from './url.ts';

export interface TimeoutConfig {
  /** Seconds to establish the connection. */
  connect: number;
  /** Seconds to wait for response headers, and between body chunks. */
  read: number;
}

export interface RetryConfig {
  total: number;
  backoffFactor: number;
  statuses: number[];
  methods: HttpMethod[];
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type FileInput = MultipartFile;

export interface RequestOptions {
  params?: QueryParams;
  data?: unknown;
  files?: Record<string, FileInput>;
  headers?: Record<string, string>;
  timeout?: number | Partial<TimeoutConfig>;
  signal?: AbortSignal;
  /**
   * The contract's schema of the success body, by name (synapse-core RESPONSE_SCHEMAS; `['task']`
   * for a list), checked when the client checks responses.
   */
  schema?: ResponseShape;
}

export interface ClientOptions {
  timeout?: Partial<TimeoutConfig>;
  retry?: Partial<RetryConfig>;
  dispatcher?: Dispatcher;
  /**
   * Check each success body that has a schema against the contract and throw
   * ResponseContractError on a mismatch. Off by default: see `checksResponses` below.
   */
  checkResponses?: boolean;
}

export const DEFAULT_RETRY: RetryConfig = {
  total: 3,
  backoffFactor: 1,
  statuses: [502, 503, 504],
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
};

const MAX_BACKOFF_S = 120;

/** Answers by which a server (or its gateway) says it is overloaded. */
const LOAD_STATUSES = new Set([429, 502, 503, 504]);

/** Delay in seconds before retry `n` (1-based): 0, then `factor * 2^(n-1)`, capped. */
export function backoffDelay(n: number, factor: number): number {
  return n <= 1 ? 0 : Math.min(factor * 2 ** (n - 1), MAX_BACKOFF_S);
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0), MAX_BACKOFF_S);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.min(Math.max((date - now) / 1000, 0), MAX_BACKOFF_S);
}

/** Hosts and URLs must not reach user-facing messages (they can reveal private endpoints). */
function redact(text: string): string {
  return text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<host>')
    .replace(/\[[0-9a-f:]+\](:\d+)?/gi, '<host>');
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** A failure of the transport itself, classified so callers can decide on retry and message. */
class TransportFailure {
  constructor(
    readonly error: Error,
    readonly retryable: boolean,
  ) {}
}

function causeChain(err: unknown): Array<{ code?: string; message?: string; name?: string }> {
  const chain = [];
  let e: any = err;
  for (let i = 0; e && i < 5; i++, e = e.cause) chain.push(e);
  return chain;
}

export class BaseClient {
  readonly baseUrl: string;
  /** Used in transport error messages: `Backend` or `Agent`. */
  readonly name: string;
  protected readonly timeout: TimeoutConfig;
  protected readonly retry: RetryConfig;
  private readonly userDispatcher: Dispatcher | undefined;
  private readonly agents = new Map<string, Agent>();
  /** Told of each answer by which the server says it is overloaded (see `reportingLoad`). */
  protected loadObserver: (() => void) | undefined;
  /**
   * Whether responses are checked against the contract. Off unless asked for (the option, or
   * SYNAPSE_CHECK_RESPONSES=1): the real platform is the authority on its own responses, and a
   * field it retypes that a plugin never reads must not fail a production run; parsing every item
   * of a large list also costs time. The repo's test suite turns it on, so a drift between the
   * contract, the SDK and the local platform fails a test instead.
   */
  readonly checksResponses: boolean;

  constructor(baseUrl: string, name: string, defaults: TimeoutConfig, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.name = name;
    this.timeout = { ...defaults, ...options.timeout };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.userDispatcher = options.dispatcher;
    this.checksResponses = options.checkResponses ?? envValue(process.env, ENV.checkResponses) === '1';
  }

  /**
   * This client (same settings, same connections) telling `observer` of every 429, 502, 503 or
   * 504 it gets, the ones it retries included: an operation that fans out requests (an
   * `AdaptiveLimit`) must slow down when the server says so, even when the retry then succeeds.
   * A view, not a copy: one per operation, and the shared client stays as it was.
   */
  reportingLoad(observer: () => void): this {
    const view = Object.create(this) as this;
    view.loadObserver = observer;
    // The credentials are the client's #private fields, which only the client itself can read.
    view.getHeaders = () => this.getHeaders();
    return view;
  }

  /** Auth headers; subclasses add theirs. */
  getHeaders(): Record<string, string> {
    return {};
  }

  buildUrl(path: string, trailingSlash = false): string {
    return buildUrl(this.baseUrl, path, trailingSlash);
  }

  get<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts);
  }
  post<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, opts);
  }
  put<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, opts);
  }
  patch<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, opts);
  }
  delete<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, opts);
  }

  /** One API call: retried on 502/503/504 and connection failures, mapped to a typed error. */
  async request<T = any>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, opts, false);
    const detail = await this.readBody(response, opts);
    raiseForStatus(response.statusCode, detail);
    if (response.statusCode === 204) return null as T;
    if (opts.schema)
      await this.checkResponse(opts.schema, detail, `${method} ${redact(path.split('?')[0] ?? '')}`);
    return detail as T;
  }

  /**
   * Throws ResponseContractError when checks are on and `body` (a page of them, with `page`) does
   * not match the named schema. The contract, and zod with it, is loaded on the first check only:
   * a client that does not check never loads it (`synapse-sdk/clients` starts without zod).
   */
  async checkResponse(shape: ResponseShape, body: unknown, what: string, page = false): Promise<void> {
    if (!this.checksResponses) return;
    const { responseMismatch } = await import('synapse-core');
    const mismatch = responseMismatch(shape, body, page);
    if (mismatch !== null) throw new ResponseContractError(`${this.name} response to ${what}`, mismatch);
  }

  /**
   * A streamed GET without read timeout: yields the body's lines (without `\n`) as they arrive.
   * More than `maxBytes` of body throws `Stream size limit exceeded`, so even one endless line
   * stays bounded in memory.
   */
  async *streamLines(
    path: string,
    opts: RequestOptions = {},
    maxBytes = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<string> {
    const response = await this.send('GET', path, opts, true);
    if (response.statusCode >= 400) raiseForStatus(response.statusCode, await this.readBody(response, opts));
    const decoder = new TextDecoder();
    let buffer = '';
    let consumed = 0; // bytes of the lines yielded so far
    const tooLarge = () => {
      response.body.destroy();
      return new StreamLimitExceededError(429, 'Stream size limit exceeded');
    };
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl !== -1) {
          const line = buffer.slice(0, nl);
          consumed += Buffer.byteLength(line) + 1;
          if (consumed > maxBytes) throw tooLarge();
          yield line.replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
        }
        // The unfinished line: its length in characters is a lower bound of its bytes.
        if (consumed + buffer.length > maxBytes) throw tooLarge();
      }
    } catch (err) {
      if (err instanceof StreamLimitExceededError) throw err;
      throw this.mapFailure(err, opts, true).error;
    }
    buffer += decoder.decode();
    if (consumed + Buffer.byteLength(buffer) > maxBytes) throw tooLarge();
    if (buffer) yield buffer;
  }

  /** Releases pooled connections. */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected timeoutFor(timeout: RequestOptions['timeout']): TimeoutConfig {
    if (timeout === undefined) return this.timeout;
    if (typeof timeout === 'number') return { connect: this.timeout.connect, read: timeout };
    return { ...this.timeout, ...timeout };
  }

  private dispatcherFor(t: TimeoutConfig, streaming: boolean): Dispatcher {
    if (this.userDispatcher) return this.userDispatcher;
    const read = streaming ? 0 : t.read * 1000;
    const key = `${t.connect}:${read}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({ connect: { timeout: t.connect * 1000 }, headersTimeout: read, bodyTimeout: read });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** The request body, as a factory so a retry sends it again from the start. */
  private async body(opts: RequestOptions): Promise<{ open?: () => any; headers: Record<string, string> }> {
    if (opts.files) {
      const form = await encodeMultipart((opts.data ?? {}) as Record<string, unknown>, opts.files);
      return {
        open: form.open,
        headers: { 'Content-Type': form.contentType, 'Content-Length': String(form.length) },
      };
    }
    if (opts.data === undefined) return { headers: {} };
    const json = JSON.stringify(opts.data);
    return { open: () => json, headers: { 'Content-Type': 'application/json' } };
  }

  private async send(method: HttpMethod, path: string, opts: RequestOptions, streaming: boolean) {
    const url = appendQuery(this.buildUrl(path), opts.params);
    const timeout = this.timeoutFor(opts.timeout);
    const body = method === 'GET' || method === 'DELETE' ? { headers: {} } : await this.body(opts);
    const headers: Record<string, string> = { ...this.getHeaders(), ...opts.headers, ...body.headers };
    const retryable = this.retry.methods.includes(method);

    for (let attempt = 0; ; attempt++) {
      const canRetry = retryable && attempt < this.retry.total;
      let response: Dispatcher.ResponseData;
      try {
        response = await undiciRequest(url, {
          method,
          headers,
          body: body.open?.(),
          signal: opts.signal,
          dispatcher: this.dispatcherFor(timeout, streaming),
        });
      } catch (err) {
        const failure = this.mapFailure(err, opts, false);
        if (failure.error instanceof ClientTimeoutError) this.loadObserver?.();
        if (!failure.retryable || !canRetry) throw failure.error;
        await sleep(backoffDelay(attempt + 1, this.retry.backoffFactor) * 1000, undefined, {
          signal: opts.signal,
        });
        continue;
      }
      if (LOAD_STATUSES.has(response.statusCode)) this.loadObserver?.();
      if (!canRetry || !this.retry.statuses.includes(response.statusCode)) return response;
      const retryAfter =
        response.statusCode === 503
          ? parseRetryAfter(String(response.headers['retry-after'] ?? '') || null)
          : null;
      await response.body.dump().catch(() => {});
      const delay = retryAfter ?? backoffDelay(attempt + 1, this.retry.backoffFactor);
      await sleep(delay * 1000, undefined, { signal: opts.signal });
    }
  }

  private async readBody(response: Dispatcher.ResponseData, opts: RequestOptions): Promise<unknown> {
    if (response.statusCode === 204) return null;
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw this.mapFailure(err, opts, true).error;
    }
    if (text === '') return response.statusCode >= 400 ? (STATUS_CODES[response.statusCode] ?? '') : '';
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** Maps an exception thrown by the request or a body read to the spec's transport errors. */
  private mapFailure(err: unknown, opts: RequestOptions, afterResponse: boolean): TransportFailure {
    if (opts.signal?.aborted && (err as Error)?.name === 'AbortError') throw err;
    const chain = causeChain(err);
    const codes = new Set(chain.map((e) => e.code).filter(Boolean));
    const t = this.timeoutFor(opts.timeout);
    const deepest = chain[chain.length - 1] ?? {};
    const snippet = redact(String(deepest.message ?? err)).slice(0, 100);
    const cause = { cause: err };
    if (codes.has('UND_ERR_CONNECT_TIMEOUT')) {
      return new TransportFailure(
        new ClientTimeoutError(`${this.name} connection timeout (>${t.connect}s)`, cause),
        true,
      );
    }
    if (codes.has('UND_ERR_HEADERS_TIMEOUT') || codes.has('UND_ERR_BODY_TIMEOUT')) {
      return new TransportFailure(
        new ClientTimeoutError(`${this.name} read timeout (>${t.read}s)`, cause),
        false,
      );
    }
    if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) {
      return new TransportFailure(new ClientConnectionError(`${this.name} host unreachable`, cause), true);
    }
    if (codes.has('ECONNREFUSED')) {
      return new TransportFailure(new ClientConnectionError(`${this.name} connection refused`, cause), true);
    }
    if (
      [...codes].some((c) => CONNECT_CODES.has(c as string)) ||
      (err as Error)?.message === 'fetch failed'
    ) {
      const error = new ClientConnectionError(`${this.name} connection error: ${snippet}`, cause);
      return new TransportFailure(error, !afterResponse);
    }
    if (err instanceof FileNotFoundError) return new TransportFailure(err, false);
    const message = `${this.name} request failed: ${snippet}`;
    return new TransportFailure(new ServerError(500, message, { ...cause, message }), false);
  }
}
