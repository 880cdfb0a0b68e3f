import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { PluginEnvironment } from '../../src/plugins/environment.ts';

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plugin-env-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('PluginEnvironment', () => {
  it('reads the process environment, stripping a prefix', () => {
    vi.stubEnv('TESTENV_BATCH_SIZE', '32');
    vi.stubEnv('TESTENV_DEBUG', 'Yes');
    vi.stubEnv('OTHER_TESTENV', 'x');
    const env = PluginEnvironment.fromEnviron('TESTENV_');
    expect(env.toDict()).toEqual({ BATCH_SIZE: '32', DEBUG: 'Yes' });
    expect(env.getInt('BATCH_SIZE')).toBe(32);
    expect(env.getBool('DEBUG')).toBe(true);
    expect(PluginEnvironment.fromEnviron().get('OTHER_TESTENV')).toBe('x');
  });

  it('reads .json, .yaml, .yml and .env files', async () => {
    const json = await file('env.json', '{"EPOCHS": 10, "NAME": "run", "TAGS": ["a", "b"]}');
    expect(PluginEnvironment.fromFile(json).toDict()).toEqual({ EPOCHS: 10, NAME: 'run', TAGS: ['a', 'b'] });
    const yaml = await file('env.yaml', 'EPOCHS: 10\nRATE: 0.5\n');
    expect(PluginEnvironment.fromFile(yaml).getFloat('RATE')).toBe(0.5);
    const yml = await file('env.yml', 'FLAG: true\n');
    expect(PluginEnvironment.fromFile(yml).getBool('FLAG')).toBe(true);
    const dotenv = await file(
      'run.env',
      '# comment\n\nHOST=http://x:8000\nexport TOKEN="se=cret"\nNAME=\'my run\'\nEMPTY=\n',
    );
    expect(PluginEnvironment.fromFile(dotenv).toDict()).toEqual({
      HOST: 'http://x:8000',
      TOKEN: 'se=cret',
      NAME: 'my run',
      EMPTY: '',
    });
    const bare = await file('.env', 'A=1\n');
    expect(PluginEnvironment.fromFile(bare).getInt('A')).toBe(1);
  });

  it('says which file is missing, unsupported, or not a mapping', async () => {
    expect(() => PluginEnvironment.fromFile('/nope/env.json')).toThrow(
      new Error('Config file not found: /nope/env.json'),
    );
    const toml = await file('env.toml', 'A = 1');
    expect(() => PluginEnvironment.fromFile(toml)).toThrow(`Unsupported config file format: ${toml}`);
    const list = await file('env.json', '[1, 2]');
    expect(() => PluginEnvironment.fromFile(list)).toThrow(
      `Config file must contain a mapping of variables: ${list}`,
    );
  });

  it('merges environments, the later winning', () => {
    const merged = PluginEnvironment.merge(
      new PluginEnvironment({ A: '1', B: '1' }),
      new PluginEnvironment({ B: '2', C: '2' }),
      new PluginEnvironment({ C: '3' }),
    );
    expect(merged.toDict()).toEqual({ A: '1', B: '2', C: '3' });
  });

  it('converts values with typed getters, falling back when absent or invalid', () => {
    const env = new PluginEnvironment({
      INT: ' 42 ',
      NEG: '-3',
      FLOAT: '2.5',
      NUM: 7.9,
      BAD: 'abc',
      ON: 'TRUE',
      ONE: '1',
      OFF: 'no',
      BOOL: false,
      LIST: ' a, b ,, c ,',
      ARR: ['x', 1],
      NULL: null,
    });
    expect(env.get('INT')).toBe(' 42 ');
    expect(env.get('MISSING', 'd')).toBe('d');
    expect(env.getStr('NUM')).toBe('7.9');
    expect(env.getStr('MISSING')).toBeUndefined();
    expect([env.getInt('INT'), env.getInt('NEG'), env.getInt('NUM'), env.getInt('FLOAT', 0)]).toEqual([
      42, -3, 7, 0,
    ]);
    expect(env.getInt('BAD', 5)).toBe(5);
    expect([env.getFloat('FLOAT'), env.getFloat('INT'), env.getFloat('BAD', 1.5)]).toEqual([2.5, 42, 1.5]);
    expect([env.getBool('ON'), env.getBool('ONE'), env.getBool('OFF'), env.getBool('BOOL')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(env.getBool('MISSING', true)).toBe(true);
    expect(env.getList('LIST')).toEqual(['a', 'b', 'c']);
    expect(env.getList('ARR')).toEqual(['x', '1']);
    expect(env.getList('MISSING', [])).toEqual([]);
    expect(env.getInt('NULL', 9)).toBe(9);
    expect([env.has('NULL'), env.has('MISSING'), env.has('toString')]).toEqual([true, false, false]);
    expect(env.getStr('constructor')).toBeUndefined();
  });
});
