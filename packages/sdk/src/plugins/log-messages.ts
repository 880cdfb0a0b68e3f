/**
 * Log message codes (plugins.md §7): a global registry of message templates by code, resolved to
 * the text and level that `logMessageWithCode` logs.
 */
import type { MessageContext } from './enums.ts';

export interface LogMessageTemplate {
  /** `{}` fills positional arguments in order, `{name}` named ones; `{{` and `}}` are literal braces. */
  template: string;
  level?: MessageContext;
}

const registry = new Map<string, LogMessageTemplate>();

/** Adds codes to the registry; a code registered again is replaced. */
export function registerLogMessages(messages: Record<string, LogMessageTemplate>): void {
  for (const [code, message] of Object.entries(messages)) registry.set(code, message);
}

const render = (value: unknown) =>
  typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);

/** The code's text with its arguments filled in, and its level (default `info`). */
export function resolveLogMessage(
  code: string,
  args: unknown[] | Record<string, unknown> = [],
): [text: string, level: MessageContext] {
  const message = registry.get(code);
  if (!message) throw new Error(`Unknown log code: ${code}`);
  let position = 0;
  const text = message.template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (token, name: string | undefined) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    const key = name === '' ? position++ : name!;
    if (!Object.hasOwn(args, key)) throw new Error(`Missing argument ${key} for log code ${code}`);
    return render((args as Record<string | number, unknown>)[key]);
  });
  return [text, message.level ?? 'info'];
}

registerLogMessages({
  PLUGIN_RUN_COMPLETE: { template: 'Plugin run is complete.', level: 'info' },
});
