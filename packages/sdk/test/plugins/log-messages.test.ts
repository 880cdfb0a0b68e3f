import { describe, expect, it } from 'vitest';
import { registerLogMessages, resolveLogMessage } from '../../src/plugins/log-messages.ts';

registerLogMessages({
  TEST_POSITIONAL: { template: 'Processed {} of {} files', level: 'success' },
  TEST_NAMED: { template: 'Task {task_id} failed: {error}', level: 'danger' },
  TEST_BRACES: { template: 'Literal {{braces}} and {value} and }}' },
  TEST_PLAIN: { template: 'No arguments here' },
});

describe('log message codes', () => {
  it('has the built-in PLUGIN_RUN_COMPLETE', () => {
    expect(resolveLogMessage('PLUGIN_RUN_COMPLETE')).toEqual(['Plugin run is complete.', 'info']);
  });

  it('fills positional arguments in order and named ones by name', () => {
    expect(resolveLogMessage('TEST_POSITIONAL', [3, 10])).toEqual(['Processed 3 of 10 files', 'success']);
    expect(resolveLogMessage('TEST_NAMED', { task_id: 7, error: 'timeout' })).toEqual([
      'Task 7 failed: timeout',
      'danger',
    ]);
  });

  it('renders objects as JSON and everything else with String()', () => {
    expect(resolveLogMessage('TEST_NAMED', { task_id: null, error: { code: 'E1', at: [1, 2] } })[0]).toBe(
      'Task null failed: {"code":"E1","at":[1,2]}',
    );
    expect(resolveLogMessage('TEST_POSITIONAL', [true, undefined])[0]).toBe(
      'Processed true of undefined files',
    );
  });

  it('turns {{ and }} into literal braces and defaults the level to info', () => {
    expect(resolveLogMessage('TEST_BRACES', { value: 1 })).toEqual(['Literal {braces} and 1 and }', 'info']);
    expect(resolveLogMessage('TEST_PLAIN')).toEqual(['No arguments here', 'info']);
  });

  it('throws the contract errors for unknown codes and missing arguments', () => {
    expect(() => resolveLogMessage('NOPE')).toThrow(new Error('Unknown log code: NOPE'));
    expect(() => resolveLogMessage('TEST_POSITIONAL', [1])).toThrow(
      new Error('Missing argument 1 for log code TEST_POSITIONAL'),
    );
    expect(() => resolveLogMessage('TEST_POSITIONAL')).toThrow(
      'Missing argument 0 for log code TEST_POSITIONAL',
    );
    expect(() => resolveLogMessage('TEST_NAMED', { task_id: 1 })).toThrow(
      new Error('Missing argument error for log code TEST_NAMED'),
    );
    expect(() => resolveLogMessage('TEST_NAMED', [1, 2])).toThrow(
      'Missing argument task_id for log code TEST_NAMED',
    );
  });

  it('replaces a code registered again (last wins)', () => {
    registerLogMessages({ TEST_REPLACED: { template: 'first' } });
    registerLogMessages({ TEST_REPLACED: { template: 'second {}', level: 'warning' } });
    expect(resolveLogMessage('TEST_REPLACED', ['time'])).toEqual(['second time', 'warning']);
  });
});
