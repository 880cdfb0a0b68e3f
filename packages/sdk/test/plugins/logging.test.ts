import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RuntimeError } from '../../src/plugins/errors.ts';
import {
  BaseLogger,
  ConsoleLogger,
  formatCreated,
  formatDatetime,
  type LoggerRecord,
  logItem,
  metricsRecord,
  NoOpLogger,
  type ProgressEntry,
  progressRecord,
} from '../../src/plugins/logging/index.ts';
import { undeclaredWeight, weightedOverall } from '../../src/plugins/logging/records.ts';

/** A logger with declared job-wide proportions, as JobLogger has, without a backend. */
class WeightedLogger extends NoOpLogger {
  constructor(proportions: Record<string, number>) {
    super();
    this.declareProportions(proportions);
  }

  setStepProportions(proportions: Record<string, number>): void {
    this.declareProportions(proportions);
  }
}

/** A logger that keeps what it is handed. */
class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

/** A stream that keeps what is written. */
function capture(isTTY = false) {
  const stream = { isTTY, text: '', write: (chunk: string) => (stream.text += chunk) };
  return stream;
}

const T0 = new Date(2025, 0, 2, 3, 4, 5, 0).getTime();

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('wire records', () => {
  it('builds the progress_record of the spec example, both dialects, byte for byte', () => {
    const entries = new Map<string, ProgressEntry>([
      ['annotate_task_data', { proportion: 100, percent: 25.0, time_remaining: 12.5 }],
    ]);
    const spec = `{"progress_record": {
      "record": {
        "categories": {"annotate_task_data": {"proportion": 100, "percent": 25.0, "time_remaining": 12.5}},
        "steps":      {"annotate_task_data": {"proportion": 100, "percent": 25.0, "time_remaining": 12.5}}},
      "current_progress": {"overall": 25.0, "category": "annotate_task_data", "step": "annotate_task_data",
                           "percent": 25.0, "time_remaining": 12.5}}}`;
    const built = { progress_record: progressRecord(entries, 'annotate_task_data', 25) };
    expect(JSON.stringify(built)).toBe(JSON.stringify(JSON.parse(spec)));
  });

  it('gives __default__ the flat fields and a current_progress without category', () => {
    const entries = new Map<string, ProgressEntry>([['__default__', { percent: 50, time_remaining: 3 }]]);
    expect(JSON.stringify(progressRecord(entries, '__default__', 50))).toBe(
      JSON.stringify({
        record: {
          categories: { __default__: { percent: 50, time_remaining: 3 } },
          steps: { __default__: { percent: 50, time_remaining: 3 } },
          percent: 50,
          time_remaining: 3,
        },
        current_progress: { overall: 50, step: '__default__', percent: 50, time_remaining: 3 },
      }),
    );
  });

  it('builds the metrics_record of the spec example byte for byte', () => {
    const spec = `{"metrics_record": {"record": {
      "categories": {"annotate_task_data": {"total": 100, "success": 25, "failed": 0, "stand_by": 75}},
      "steps":      {"annotate_task_data": {"total": 100, "success": 25, "failed": 0, "stand_by": 75}}}}}`;
    const metrics = new Map([['annotate_task_data', { total: 100, success: 25, failed: 0, stand_by: 75 }]]);
    expect(JSON.stringify({ metrics_record: metricsRecord(metrics) })).toBe(JSON.stringify(JSON.parse(spec)));
  });

  it('formats datetime and created in local time with microseconds', () => {
    const date = new Date(2025, 0, 2, 3, 4, 5, 7);
    expect(formatDatetime(date)).toBe('2025-01-02 03:04:05.007000');
    expect(formatCreated(date)).toBe('2025-01-02T03:04:05.007000');
    expect(formatDatetime(new Date(1999, 11, 31, 23, 59, 59, 999))).toBe('1999-12-31 23:59:59.999000');
  });

  it('builds the log item envelope, with file only when given', () => {
    const date = new Date(2025, 0, 2, 3, 4, 5, 123);
    expect(JSON.stringify(logItem('message', { context: 'info', content: 'hi' }, date, 'job-1'))).toBe(
      '{"event":"message","data":{"context":"info","content":"hi"},"datetime":"2025-01-02 03:04:05.123000","job":"job-1"}',
    );
    expect(logItem('visualization', {}, date, null, 'data:image/png;base64,AA==')).toEqual({
      event: 'visualization',
      data: {},
      datetime: '2025-01-02 03:04:05.123000',
      job: null,
      file: 'data:image/png;base64,AA==',
    });
  });
});

describe('overall progress weighting', () => {
  it('gives an undeclared key half of the unassigned weight, at least 1 while any remains', () => {
    expect(undeclaredWeight([])).toBe(50);
    expect(undeclaredWeight([40])).toBe(30);
    expect(undeclaredWeight([40, 30, 15])).toBe(7);
    expect(undeclaredWeight([97])).toBe(1);
    expect(undeclaredWeight([99])).toBe(1);
    expect(undeclaredWeight([100])).toBe(0);
    expect(undeclaredWeight([80, 80])).toBe(0);
  });

  it('counts earlier keys as done and the current one by its percent', () => {
    const weights = new Map([
      ['a', 20],
      ['b', 30],
      ['c', 50],
    ]);
    expect(weightedOverall(weights, 'a', 50)).toBe(10);
    expect(weightedOverall(weights, 'b', 50)).toBe(35);
    expect(weightedOverall(weights, 'c', 100)).toBe(100);
    expect(weightedOverall(weights, 'b', 33.33)).toBe(30);
    expect(weightedOverall(new Map([['a', 33]]), 'a', 33.33)).toBe(11);
    expect(
      weightedOverall(
        new Map([
          ['a', 80],
          ['b', 80],
        ]),
        'b',
        50,
      ),
    ).toBe(100);
  });

  it('follows the current key when no proportions are declared', () => {
    const logger = new NoOpLogger();
    logger.setProgress(1, 2, 'a');
    expect(logger.getProgress()?.current_progress.overall).toBe(50);
    logger.setProgress(1, 4, 'b');
    expect(logger.getProgress()?.current_progress.overall).toBe(25);
    expect(logger.getProgress()?.record.categories.b).toEqual({ percent: 25, time_remaining: 0 });
  });

  it('weighs declared keys, never decreases, and locks weights of undeclared keys', () => {
    const logger = new WeightedLogger({ a: 30, b: 40 });
    const overall = () => logger.getProgress()!.current_progress.overall;
    logger.setProgress(50, 100, 'a');
    expect(overall()).toBe(15);
    logger.setProgress(50, 100, 'b');
    expect(overall()).toBe(50);
    logger.setProgress(10, 100, 'a');
    expect(overall()).toBe(50);
    logger.setProgress(1, 2, 'x'); // undeclared: takes floor(30 / 2) = 15, after a and b
    expect(overall()).toBe(77.5);
    logger.setProgress(1, 1, 'y'); // then floor(15 / 2) = 7
    expect(overall()).toBe(92);
    logger.setProgress(1, 1, 'x');
    expect(overall()).toBe(92);
    const record = logger.getProgress()!.record.categories;
    expect([record.a.proportion, record.b.proportion, record.x.proportion, record.y.proportion]).toEqual([
      30, 40, 15, 7,
    ]);
  });

  it('leaves the overall alone for a key that got no weight, and clamps to 100', () => {
    const logger = new WeightedLogger({ a: 60, b: 60 });
    logger.setProgress(1, 2, 'b');
    expect(logger.getProgress()!.current_progress.overall).toBe(90);
    logger.setProgress(2, 2, 'b');
    expect(logger.getProgress()!.current_progress.overall).toBe(100);
    logger.setProgress(1, 2, 'late');
    expect(logger.getProgress()!.record.steps.late.proportion).toBe(0);
    expect(logger.getProgress()!.current_progress.overall).toBe(100);
  });

  it('rejects proportions once progress has started', () => {
    const logger = new WeightedLogger({ a: 50 });
    logger.setStepProportions({ b: 50 });
    logger.setProgressFailed('a');
    const err = (() => {
      try {
        logger.setStepProportions({ c: 10 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toBe(
      'Cannot set step proportions after progress has started. Call setStepProportions() before any setProgress() calls.',
    );
  });
});

describe('BaseLogger', () => {
  it('computes percent and time remaining from the key start time', () => {
    const logger = new NoOpLogger();
    logger.setProgress(0, 100, 'annotate_task_data');
    expect(logger.getProgress()!.current_progress).toEqual({
      overall: 0,
      category: 'annotate_task_data',
      step: 'annotate_task_data',
      percent: 0,
      time_remaining: null,
    });
    vi.setSystemTime(T0 + 4167);
    logger.setProgress(25, 100, 'annotate_task_data');
    expect(logger.getProgress()!.record.categories.annotate_task_data).toEqual({
      percent: 25,
      time_remaining: 12.5,
    });
    vi.setSystemTime(T0 + 10_000);
    logger.setProgress(1, 3, 'annotate_task_data');
    expect(logger.getProgress()!.record.steps.annotate_task_data).toEqual({
      percent: 33.33,
      time_remaining: 20,
    });
    logger.setProgress(0, 3, 'annotate_task_data'); // a restart resets the start time
    vi.setSystemTime(T0 + 12_000);
    logger.setProgress(2, 3, 'annotate_task_data');
    expect(logger.getProgress()!.record.steps.annotate_task_data.time_remaining).toBe(1);
  });

  it('keys progress by category, then the current step, then __default__', () => {
    const logger = new NoOpLogger();
    logger.setProgress(1, 2);
    logger.setStep('upload');
    logger.setProgress(1, 4);
    logger.setProgress(1, 5, 'explicit');
    expect(Object.keys(logger.getProgress()!.record.categories)).toEqual([
      '__default__',
      'upload',
      'explicit',
    ]);
    expect(logger.getProgress()!.record.percent).toBe(50);
  });

  it('records failed entries with the elapsed time', () => {
    const logger = new WeightedLogger({ train: 70 });
    logger.setProgress(0, 10, 'train');
    vi.setSystemTime(T0 + 1500);
    logger.setProgressFailed('train');
    logger.setProgressFailed('never_started');
    const { record, current_progress } = logger.getProgress()!;
    expect(JSON.stringify(record.categories.train)).toBe(
      '{"proportion":70,"percent":0,"time_remaining":null,"elapsed_time":1.5,"status":"failed"}',
    );
    expect(record.steps.never_started).toEqual({
      proportion: 15,
      percent: 0,
      time_remaining: null,
      elapsed_time: null,
      status: 'failed',
    });
    expect(current_progress).toMatchObject({ step: 'never_started', percent: 0, time_remaining: null });
  });

  it('merges metrics per category and keys them by the step when no category is given', () => {
    const logger = new NoOpLogger();
    logger.setMetrics({ total: 100, success: 0, failed: 0, stand_by: 100 }, 'annotate_task_data');
    logger.setMetrics({ success: 25, stand_by: 75 }, 'annotate_task_data');
    logger.setStep('train');
    logger.setMetrics({ loss: 0.5 });
    expect(logger.getMetrics()).toEqual({
      record: {
        categories: {
          annotate_task_data: { total: 100, success: 25, failed: 0, stand_by: 75 },
          train: { loss: 0.5 },
        },
        steps: {
          annotate_task_data: { total: 100, success: 25, failed: 0, stand_by: 75 },
          train: { loss: 0.5 },
        },
      },
    });
  });

  it('hands log records with a copy of the data, the step, and the time', () => {
    const logger = new RecordingLogger();
    const data = { a: 1 };
    logger.log('warning', 'custom', data, './x.png', 'explicit');
    data.a = 2;
    logger.setStep('s');
    logger.info('hi');
    logger.logMessage('done', 'success');
    expect(logger.records).toEqual([
      {
        kind: 'log',
        level: 'warning',
        event: 'custom',
        data: { a: 1 },
        file: './x.png',
        step: 'explicit',
        time: new Date(T0),
      },
      {
        kind: 'log',
        level: 'info',
        event: 'info',
        data: { message: 'hi' },
        file: undefined,
        step: 's',
        time: new Date(T0),
      },
      {
        kind: 'log',
        level: 'info',
        event: 'message',
        data: { context: 'success', content: 'done' },
        file: undefined,
        step: 's',
        time: new Date(T0),
      },
    ]);
  });

  it('throws the contract errors', async () => {
    const logger = new NoOpLogger();
    expect(() => logger.log('loud' as never, 'e', {})).toThrow(
      new TypeError('level must be a LogLevel enum, got string'),
    );
    expect(() => logger.log(3 as never, 'e', {})).toThrow('level must be a LogLevel enum, got number');
    expect(() => logger.log('info', 'e', 'text' as never)).toThrow(
      new TypeError('data must be a dict, got string'),
    );
    expect(() => logger.log('info', 'e', [1])).toThrow('data must be a dict, got object');
    expect(() => logger.setProgress(1, 0)).toThrow(new RangeError('total must be > 0, got 0'));
    expect(() => logger.setProgress(-1, 10)).toThrow(
      new RangeError('current must be between 0 and 10, got -1'),
    );
    expect(() => logger.setProgress(11, 10)).toThrow('current must be between 0 and 10, got 11');
    expect(() => logger.setMetrics({ a: 1 })).toThrow(
      new Error('A category argument must be a non-empty string.'),
    );
    expect(() => logger.setMetrics({ a: 1 }, '')).toThrow('A category argument must be a non-empty string.');
    expect(() => logger.setMetrics([1], 'c')).toThrow(
      new TypeError('A value argument must be a dictionary, but got object.'),
    );
    expect(() => logger.setMetrics(5 as never, 'c')).toThrow(
      'A value argument must be a dictionary, but got number.',
    );

    await logger.finish();
    await logger.finish();
    for (const call of [
      () => logger.info('late'),
      () => logger.setProgress(1, 2),
      () => logger.setMetrics({}, 'c'),
    ]) {
      expect(call).toThrow(RuntimeError);
      expect(call).toThrow('Cannot log to a finished logger');
    }
  });
});

describe('ConsoleLogger', () => {
  it('prints the plain line formats when not a terminal', async () => {
    const out = capture(false);
    const logger = new ConsoleLogger({ stream: out });
    logger.warning('serve capacity gate skipped: agent_client not provided');
    logger.log('info', 'export_info', { message: 'No results found for export', count: 0 });
    logger.setStep('convert');
    logger.error('bad file');
    logger.log('debug', 'dev_event', { message: 'x' });
    logger.logMessage('ToTask action completed successfully.', 'success');
    logger.logMessage('Pre-processor not active', 'danger');
    logger.setProgress(25, 100, 'annotate_task_data');
    vi.setSystemTime(T0 + 2000);
    logger.setProgress(50, 100, 'annotate_task_data');
    logger.setProgress(0, 2, '');
    logger.setStep(null);
    logger.setProgress(1, 2);
    logger.setProgressFailed('annotate_task_data');
    logger.setProgressFailed();
    logger.setMetrics({ total: 100, success: 25 }, 'annotate_task_data');
    await logger.finish();
    expect(out.text.split('\n')).toEqual([
      'WARNING: serve capacity gate skipped: agent_client not provided',
      'INFO: export_info {"message":"No results found for export","count":0}',
      'ERROR: [convert] bad file',
      'DEBUG: [convert] dev_event {"message":"x"}',
      'SUCCESS: ToTask action completed successfully.',
      'DANGER: Pre-processor not active',
      'INFO: [annotate_task_data] Progress: 25.0% (25/100) | ETA: 0s',
      'INFO: [annotate_task_data] Progress: 50.0% (50/100) | ETA: 2s',
      'INFO: [convert] Progress: 0.0% (0/2)',
      'INFO: Progress: 50.0% (1/2) | ETA: 0s',
      'ERROR: [annotate_task_data] Progress failed',
      'ERROR: Progress failed',
      'INFO: [annotate_task_data] Metrics: {"total":100,"success":25}',
      '',
    ]);
  });

  it('draws progress as a bar redrawn in place on a terminal, with coloured labels', async () => {
    vi.stubEnv('NO_COLOR', '');
    const out = capture(true);
    const logger = new ConsoleLogger({ stream: out });
    logger.setProgress(0, 4, 'train');
    logger.setProgress(1, 4, 'train');
    logger.info('between');
    logger.setProgress(4, 4, 'train');
    logger.setProgress(1, 10, 'upload');
    await logger.finish();
    const info = '\x1b[36mINFO\x1b[0m';
    const bar = (filled: number) => '█'.repeat(filled) + '░'.repeat(30 - filled);
    expect(out.text).toBe(
      `\r${info}: [train] Progress: ${bar(0)} 0.0% (0/4)` +
        `\r${info}: [train] Progress: ${bar(8)} 25.0% (1/4) | ETA: 0s\n` +
        `${info}: between\n` +
        `\r${info}: [train] Progress: ${bar(30)} 100.0% (4/4) | ETA: 0s\n` +
        `\r${info}: [upload] Progress: ${bar(3)} 10.0% (1/10) | ETA: 0s\n`,
    );
  });

  it('pads a shorter redraw over the longer one', () => {
    const out = capture(true);
    const logger = new ConsoleLogger({ stream: out });
    logger.setProgress(5, 10, 'k');
    logger.setProgress(0, 10, 'k');
    const [first, second] = out.text.split('\r').slice(1);
    expect(second.length).toBe(first.length);
    expect(second.trimEnd()).toContain('0.0% (0/10)');
  });

  it('uses no colour codes when NO_COLOR is set or the stream is not a terminal', () => {
    vi.stubEnv('NO_COLOR', '1');
    const tty = capture(true);
    const logger = new ConsoleLogger({ stream: tty });
    logger.error('boom');
    logger.setProgress(1, 2, 'k');
    expect(tty.text).not.toContain('\x1b[');
    expect(tty.text).toContain('\rINFO: [k] Progress: ');
    expect(tty.text.startsWith('ERROR: boom\n')).toBe(true);

    vi.stubEnv('NO_COLOR', '');
    const plain = capture(false);
    const other = new ConsoleLogger({ stream: plain });
    other.error('boom');
    other.setProgress(1, 2, 'k');
    expect(plain.text).toBe('ERROR: boom\nINFO: [k] Progress: 50.0% (1/2) | ETA: 0s\n');
  });
});
