/** How the CLI talks to people: one clear line per error, the stack only with --debug. */

export function fail(err: unknown, debug = false): never {
  const error = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`error: ${error.message}\n`);
  if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
}

/** Shows enough of a secret to recognise it, never the whole of it. */
export function mask(secret: string): string {
  return secret.length <= 8 ? '****' : `${secret.slice(0, 8)}…`;
}
