/**
 * ConsoleLogger (plugins.md §6.5): one line per record. In a terminal, progress is a bar redrawn
 * in place and labels are coloured (unless NO_COLOR is set); anywhere else, plain lines.
 */

import { ENV, envValue } from '../../environment.ts';
import { LOG_LEVELS } from '../enums.ts';
import { BaseLogger, type LoggerRecord } from './base.ts';
import { DEFAULT_KEY } from './records.ts';

/** Where console lines go: stdout by default, anything with `write` in tests. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

type ProgressLine = Extract<LoggerRecord, { kind: 'progress' }>;

const BAR_WIDTH = 30;
const COLORS: Record<string, number> = {
  DEBUG: 90,
  INFO: 36,
  SUCCESS: 32,
  WARNING: 33,
  ERROR: 31,
  DANGER: 31,
  CRITICAL: 35,
};

const keyPrefix = (key: string) => (key === DEFAULT_KEY ? '' : `[${key}] `);

function progressText({ current, total, entry }: ProgressLine): string {
  const eta = entry.time_remaining === null ? '' : ` | ETA: ${entry.time_remaining}s`;
  return `${entry.percent.toFixed(1)}% (${current}/${total})${eta}`;
}

/** A record's console line, split into its label and the text after `<label>: `. */
function lineParts(record: LoggerRecord): [label: string, text: string] {
  switch (record.kind) {
    case 'log': {
      const { level, event, data, step } = record;
      if (event === 'message' && typeof data.context === 'string' && typeof data.content === 'string') {
        return [data.context.toUpperCase(), data.content];
      }
      const prefix = step ? `[${step}] ` : '';
      const keys = Object.keys(data);
      const isShortcut =
        (LOG_LEVELS as readonly string[]).includes(event) && keys.length === 1 && keys[0] === 'message';
      return [
        level.toUpperCase(),
        prefix + (isShortcut ? String(data.message) : `${event} ${JSON.stringify(data)}`),
      ];
    }
    case 'progress':
      return ['INFO', `${keyPrefix(record.key)}Progress: ${progressText(record)}`];
    case 'progress_failed':
      return ['ERROR', `${keyPrefix(record.key)}Progress failed`];
    case 'metrics':
      return ['INFO', `${keyPrefix(record.key)}Metrics: ${JSON.stringify(record.value)}`];
  }
}

/** Prints records to a stream; shared by ConsoleLogger and JobLogger's echo. */
export class ConsolePrinter {
  readonly #out: OutputStream;
  readonly #tty: boolean;
  readonly #color: boolean;
  /** The bar on the current (unfinished) line: its key and printed width. */
  #bar: { key: string; width: number } | null = null;

  constructor(out: OutputStream = process.stdout) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#color = this.#tty && envValue(process.env, ENV.noColor) === undefined;
  }

  print(record: LoggerRecord): void {
    if (this.#tty && record.kind === 'progress') {
      this.#drawBar(record);
      return;
    }
    this.end();
    const [label, text] = lineParts(record);
    this.#out.write(`${this.#paint(label)}: ${text}\n`);
  }

  /** Moves past a bar still being drawn, so the next output starts on a fresh line. */
  end(): void {
    if (!this.#bar) return;
    this.#out.write('\n');
    this.#bar = null;
  }

  #drawBar(record: ProgressLine): void {
    if (this.#bar?.key !== record.key) this.end();
    const filled = Math.round((record.entry.percent / 100) * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const text = `${keyPrefix(record.key)}Progress: ${bar} ${progressText(record)}`;
    const width = 'INFO: '.length + text.length;
    // Spaces cover what is left of a longer previous drawing.
    const padding = ' '.repeat(Math.max(0, (this.#bar?.width ?? 0) - width));
    this.#out.write(`\r${this.#paint('INFO')}: ${text}${padding}`);
    this.#bar = { key: record.key, width };
    if (record.current === record.total) this.end();
  }

  #paint(label: string): string {
    const color = COLORS[label];
    return this.#color && color ? `\x1b[${color}m${label}\x1b[0m` : label;
  }
}

export class ConsoleLogger extends BaseLogger {
  readonly #printer: ConsolePrinter;

  constructor(options: { stream?: OutputStream } = {}) {
    super();
    this.#printer = new ConsolePrinter(options.stream);
  }

  protected override write(record: LoggerRecord): void {
    this.#printer.print(record);
  }

  protected override onFinish(): void {
    this.#printer.end();
  }
}
