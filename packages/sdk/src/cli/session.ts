/** The backend a CLI command talks to: `--host`/`--token` flags, else the environment and config file. */
import { BackendClient, type BackendClientOptions, DEFAULT_BACKEND_URL } from '../clients/backend/index.ts';
import { loadCredentials } from '../clients/credentials.ts';
import { ClientConnectionError, ClientTimeoutError, NotFoundError } from '../clients/errors.ts';
import type { HttpMethod, RequestOptions } from '../clients/http.ts';
import { redactUrl } from '../clients/safe-fetch/index.ts';
import { ENV, envValue } from '../environment.ts';
import { redactText, redactValue, SecretSet } from '../redact.ts';

export interface ConnectionOptions {
  host?: string;
  token?: string;
}

/**
 * The platform's address as the CLI names it in messages: the URL the user logged in to or gave
 * with --host, without credentials, query or fragment.
 */
export function platformLabel(baseUrl: string): string {
  if (!URL.canParse(baseUrl)) return 'the configured backend URL';
  return redactUrl(baseUrl).replace(/\/+$/, '');
}

/**
 * The backend as the CLI talks to it: a failure to reach it names the platform and, unless
 * `doctorHint` is off (for `synapse doctor` itself), says how to check the setup.
 */
class CliBackendClient extends BackendClient {
  readonly #doctorHint: boolean;

  constructor(baseUrl: string, options: BackendClientOptions, doctorHint: boolean) {
    super(baseUrl, options);
    this.#doctorHint = doctorHint;
  }

  #explained(err: unknown): unknown {
    if (!(err instanceof ClientConnectionError || err instanceof ClientTimeoutError)) return err;
    const hint = this.#doctorHint ? ' Is the platform running? Run `synapse doctor` to check.' : '';
    const message = `${err.message} at ${platformLabel(this.baseUrl)}.${hint}`;
    return new ClientConnectionError(message, { cause: err });
  }

  override async request<T = any>(method: HttpMethod, path: string, opts?: RequestOptions): Promise<T> {
    try {
      return await super.request<T>(method, path, opts);
    } catch (err) {
      throw this.#explained(err);
    }
  }

  override async *streamLines(
    path: string,
    opts?: RequestOptions,
    maxBytes?: number,
  ): AsyncGenerator<string> {
    try {
      yield* super.streamLines(path, opts, maxBytes);
    } catch (err) {
      throw this.#explained(err);
    }
  }
}

/** A CLI client for `baseUrl` (see `CliBackendClient`). */
export function cliBackendClient(
  baseUrl: string,
  options: BackendClientOptions,
  { doctorHint = true }: { doctorHint?: boolean } = {},
): BackendClient {
  return new CliBackendClient(baseUrl, options, doctorHint);
}

export function backendFromOptions(
  opts: ConnectionOptions,
  options: { doctorHint?: boolean } = {},
): BackendClient {
  const saved = loadCredentials();
  const token = opts.token ?? saved.accessToken;
  if (!token) throw new Error('Not authenticated. Run `synapse login` to authenticate.');
  return cliBackendClient(
    opts.host ?? saved.host ?? DEFAULT_BACKEND_URL,
    { accessToken: token, tenant: saved.tenant },
    options,
  );
}

/** `No job <id> on <platform>` for a 404 of a job lookup; any other error as it is. */
export function jobNotFound(err: unknown, jobId: string, client: BackendClient): unknown {
  if (!(err instanceof NotFoundError)) return err;
  return new NotFoundError(404, err.detail, {
    cause: err,
    message: `No job ${jobId} on ${platformLabel(client.baseUrl)}.`,
  });
}

export interface OutputMask {
  text(text: string): string;
  value<T>(value: T): T;
}

/**
 * What the CLI prints of jobs and runs (their lines, records and results): this machine's own
 * credentials (saved, given with --token, or in the environment) and every credential-shaped
 * value masked, since terminal output ends up in shared logs.
 */
export function outputMask(opts: ConnectionOptions = {}, env: NodeJS.ProcessEnv = process.env): OutputMask {
  const saved = loadCredentials(env);
  const known = new SecretSet(
    [
      opts.token,
      saved.accessToken,
      saved.agent?.token,
      envValue(env, ENV.runUserToken),
      envValue(env, ENV.agentToken),
    ].filter((v): v is string => typeof v === 'string'),
  );
  return {
    text: (text) => redactText(text, { known }),
    value: (value) => redactValue(value, { known }),
  };
}
