/** How the CLI talks to people: one clear line per error (the stack only with --debug), JSON results. */

/** Exit codes: 1 for an error, 2 for a usage error. */
export class UsageError extends Error {}

export function fail(err: unknown, debug = false): never {
  const error = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`Error: ${error.message}\n`);
  if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}

/** A TCP port option (0 picks a free one), or a usage error naming the option. */
export function parsePort(option: string, value: string | number): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid --${option}: ${value}`);
  return port;
}

/** Shows enough of a secret to recognise it, never the whole of it. */
export function mask(secret: string): string {
  return secret.length <= 8 ? '****' : `${secret.slice(0, 8)}…`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `--params '{"a": 1}'` or `--params @params.json`. */
export async function parseJsonOption(
  value: string | undefined,
  what = 'params',
): Promise<Record<string, unknown>> {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith('@')) {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(value.slice(1), 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`Cannot read ${what} file ${value.slice(1)}: ${e.code ?? e.message}`);
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`Invalid JSON ${what}: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`Invalid JSON ${what}: expected an object`);
  }
  return parsed as Record<string, unknown>;
}
