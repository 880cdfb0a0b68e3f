/**
 * PluginEnvironment (plugins.md §5): the variables an action reads, from the process environment,
 * a config file, or both merged, with typed getters.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';

const TRUE_WORDS = new Set(['true', '1', 'yes']);

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `KEY=VALUE` lines; blank lines and `#` comments are skipped, surrounding quotes removed. */
function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    const eq = line.indexOf('=');
    if (!line || line.startsWith('#') || eq < 1) continue;
    const value = line.slice(eq + 1).trim();
    vars[line.slice(0, eq).trim()] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return vars;
}

export class PluginEnvironment {
  readonly #vars: Record<string, unknown>;

  constructor(vars: Record<string, unknown> = {}) {
    this.#vars = { ...vars };
  }

  /** The process environment; with a prefix, only the variables that start with it, prefix stripped. */
  static fromEnviron(prefix = ''): PluginEnvironment {
    const vars: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && key.startsWith(prefix)) vars[key.slice(prefix.length)] = value;
    }
    return new PluginEnvironment(vars);
  }

  /** Reads `.json`, `.yaml`/`.yml` (a mapping at the top) or `.env` (`KEY=VALUE` lines). */
  static fromFile(path: string): PluginEnvironment {
    if (!existsSync(path)) throw new Error(`Config file not found: ${path}`);
    const text = readFileSync(path, 'utf8');
    const ext = extname(path).toLowerCase();
    if (ext === '.env' || basename(path) === '.env') {
      return new PluginEnvironment(parseDotenv(text));
    }
    let parsed: unknown;
    if (ext === '.json') parsed = JSON.parse(text);
    else if (ext === '.yaml' || ext === '.yml') parsed = parseYaml(text) ?? {};
    else throw new Error(`Unsupported config file format: ${path} (use .json, .yaml, .yml or .env)`);
    if (!isMapping(parsed)) throw new Error(`Config file must contain a mapping of variables: ${path}`);
    return new PluginEnvironment(parsed);
  }

  /** One environment from several; for a key set in more than one, the later wins. */
  static merge(...envs: PluginEnvironment[]): PluginEnvironment {
    return new PluginEnvironment(Object.assign({}, ...envs.map((env) => env.#vars)));
  }

  get(key: string, fallback?: unknown): unknown {
    return Object.hasOwn(this.#vars, key) ? this.#vars[key] : fallback;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#vars, key);
  }

  getStr<D = undefined>(key: string, fallback?: D): string | D {
    const value = this.#value(key);
    return value === undefined ? (fallback as D) : String(value);
  }

  /** The value as an integer; the fallback when absent or not an integer. */
  getInt<D = undefined>(key: string, fallback?: D): number | D {
    const value = this.#value(key);
    if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
    if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
    return fallback as D;
  }

  /** The value as a number; the fallback when absent or not a number. */
  getFloat<D = undefined>(key: string, fallback?: D): number | D {
    const value = this.#value(key);
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof number === 'number' && !Number.isNaN(number) ? number : (fallback as D);
  }

  /** `true`, `1` and `yes` (any case) are true, any other string false. */
  getBool<D = undefined>(key: string, fallback?: D): boolean | D {
    const value = this.#value(key);
    if (value === undefined) return fallback as D;
    if (typeof value === 'string') return TRUE_WORDS.has(value.trim().toLowerCase());
    return Boolean(value);
  }

  /** A comma-separated value as a list: items trimmed, empty items dropped. */
  getList<D = undefined>(key: string, fallback?: D): string[] | D {
    const value = this.#value(key);
    if (value === undefined) return fallback as D;
    const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
    return items.map((item) => item.trim()).filter((item) => item !== '');
  }

  toDict(): Record<string, unknown> {
    return { ...this.#vars };
  }

  /** Absent and null both read as "not set". */
  #value(key: string): unknown {
    return Object.hasOwn(this.#vars, key) ? (this.#vars[key] ?? undefined) : undefined;
  }
}
