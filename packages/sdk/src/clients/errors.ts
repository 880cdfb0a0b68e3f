/**
 * The client error hierarchy (spec client.md §4). Class names and messages are a contract with
 * platform users: `e.statusCode`, `e.detail`, plus the Python SDK's spellings as aliases.
 */

function detailText(detail: unknown): string {
  if (typeof detail === 'string') return detail;
  if (detail === undefined || detail === null) return '';
  return JSON.stringify(detail);
}

export class ClientError extends Error {
  readonly statusCode: number | null;
  readonly detail: unknown;

  constructor(statusCode: number | null, detail: unknown, options?: { cause?: unknown; message?: string }) {
    const text = detailText(detail);
    super(options?.message ?? (statusCode === null ? text : `${statusCode}: ${text}`), {
      cause: options?.cause,
    });
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.detail = detail;
  }

  /** Alias of `statusCode` (the seeds' `e.status_code`). */
  get status_code(): number | null {
    return this.statusCode;
  }
  /** Alias of `detail` (the seeds' `e.response`). */
  get response(): unknown {
    return this.detail;
  }
  /** Alias of `detail`. */
  get reason(): unknown {
    return this.detail;
  }
}

export class ClientConnectionError extends ClientError {
  constructor(detail: unknown, options?: { cause?: unknown }) {
    super(null, detail, options);
  }
}

export class ClientTimeoutError extends ClientError {
  constructor(detail: unknown, options?: { cause?: unknown }) {
    super(408, detail, { ...options, message: detailText(detail) });
  }
}

/**
 * A success response that does not match the contract (synapse-core), when the client checks
 * responses. Names the call and each field with the rule it breaks, never the values.
 */
export class ResponseContractError extends ClientError {
  constructor(what: string, mismatch: string) {
    const message = `${what} does not match the contract: ${mismatch}`;
    super(null, message, { message });
  }
}

export class HTTPError extends ClientError {}
export class AuthenticationError extends HTTPError {}
export class AuthorizationError extends HTTPError {}
export class NotFoundError extends HTTPError {}
export class RateLimitError extends HTTPError {}
export class ServerError extends HTTPError {}

interface FastApiError {
  loc?: unknown[];
  msg?: string;
  type?: string;
  input?: unknown;
}

function fastApiErrors(detail: unknown): FastApiError[] | null {
  const list =
    detail && typeof detail === 'object' && !Array.isArray(detail)
      ? (detail as { detail?: unknown }).detail
      : detail;
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.every((e) => e && typeof e === 'object' && 'msg' in e) ? (list as FastApiError[]) : null;
}

export class ValidationError extends HTTPError {
  constructor(statusCode: number, detail: unknown, options?: { cause?: unknown }) {
    const errors = fastApiErrors(detail);
    if (!errors) {
      super(statusCode, detail, options);
      return;
    }
    const lines = errors.map((e) => {
      let line = `  ${(e.loc ?? []).join(' -> ')}: ${e.msg} (type=${e.type})`;
      if ('input' in e) {
        const input = JSON.stringify(e.input) ?? 'undefined';
        line += ` [input=${input.length > 50 ? `${input.slice(0, 50)}...` : input}]`;
      }
      return line;
    });
    super(statusCode, detail, {
      ...options,
      message: [`${statusCode} Validation Error:`, ...lines].join('\n'),
    });
  }
}

export class GpuUnavailableError extends HTTPError {
  readonly errorDetails: Record<string, unknown>;

  constructor(detail: unknown, options?: { cause?: unknown }) {
    const message = (detail as { message?: unknown } | null)?.message;
    super(503, detail, {
      ...options,
      message: typeof message === 'string' ? message : '503: GPU unavailable',
    });
    this.errorDetails = ((detail as { details?: Record<string, unknown> } | null)?.details ?? {}) as Record<
      string,
      unknown
    >;
  }
}

export class StreamError extends ClientError {}
export class StreamLimitExceededError extends StreamError {}
export class WebSocketError extends StreamError {}

/** A local file that an operation needs does not exist. */
export class FileNotFoundError extends Error {
  readonly code = 'ENOENT';
  override name = 'FileNotFoundError';
}

/** Throws the error class mapped from an HTTP status (client.md §4.2); no-op below 400. */
export function raiseForStatus(status: number, detail: unknown): void {
  if (status < 400) return;
  if (status === 401) throw new AuthenticationError(status, detail);
  if (status === 403) throw new AuthorizationError(status, detail);
  if (status === 404) throw new NotFoundError(status, detail);
  if (status === 400 || status === 422) throw new ValidationError(status, detail);
  if (status === 429) throw new RateLimitError(status, detail);
  if (status === 503 && (detail as { error_type?: unknown } | null)?.error_type === 'gpu_unavailable') {
    throw new GpuUnavailableError(detail);
  }
  if (status >= 500) throw new ServerError(status, detail);
  throw new HTTPError(status, detail);
}
