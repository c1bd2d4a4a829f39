import fc from 'fast-check';
import { invocationLogger, withInvocationLog } from '../../../shared/observability/invocationLog';
import { chunkMetricsFields, histogramDelta, loadMetricsFields } from '../../../shared/observability/loadMetrics';
import { addLogFields, createScopedLogger, runInLogScope } from '../../../shared/observability/logScope';
import { createLogger, formatLogLine, parseLogLine, type LogEntry } from '../../../shared/observability/logger';
import { redactSecrets } from '../../../shared/security/redaction';

const fieldValue = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => !/eyJ|Bearer|=|sig|key|auth|secret|token|code|password/i.test(s)),
  fc.integer(),
  fc.boolean(),
);

describe('log lines', () => {
  test('message and fields round-trip through one line (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }).filter((m) => !m.includes(' {') && !/eyJ|Bearer|=|sig/i.test(m)),
        fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z]{0,10}$/), fieldValue, { minKeys: 1 }),
        (message, fields) => {
          expect(parseLogLine(formatLogLine(message, fields))).toEqual({ message, fields });
        },
      ),
    );
  });

  test('errors become { name, code, status, requestId, message }; undefined fields are dropped', () => {
    const error = Object.assign(new Error('boom'), { code: '0x80040237', status: 412, requestId: 'r-1' });
    expect(parseLogLine(formatLogLine('x', { error, gone: undefined })).fields).toEqual({
      error: { name: 'Error', message: 'boom', code: '0x80040237', status: 412, requestId: 'r-1' },
    });
  });

  test('credentials are masked wherever they appear (property over the shapes)', () => {
    const b64 = fc.stringMatching(/^[A-Za-z0-9_-]{10,40}$/);
    fc.assert(
      fc.property(b64, b64, b64, fc.stringMatching(/^[A-Za-z0-9+/]{20,60}$/), (a, b, c, key) => {
        const jwt = `eyJ${a}.eyJ${b}.${c}`;
        const line = formatLogLine(`call with Bearer ${jwt}`, {
          conn: `AccountName=x;AccountKey=${key};`,
          url: `https://x/y?sv=1&sig=${key}`,
          body: `client_secret=${key}&x=1`,
          header: { authorization: `Bearer ${jwt}` },
        });
        expect(line).not.toContain(jwt);
        expect(line).not.toContain(c);
        expect(line).not.toContain(key);
      }),
    );
    expect(redactSecrets('errorCode=0x80040237 code=abc')).toBe('errorCode=0x80040237 code=[redacted]');
  });

  test('levels below the threshold are dropped; child loggers add fields', () => {
    const seen: LogEntry[] = [];
    const log = createLogger((e) => seen.push(e), { level: 'warn', fields: { a: 1 } });
    log.info('no');
    log.child({ b: 2 }).warn('yes', { c: 3 });
    log.error('err');
    expect(seen.map((e) => [e.level, e.message, e.fields])).toEqual([
      ['warn', 'yes', { a: 1, b: 2, c: 3 }],
      ['error', 'err', { a: 1 }],
    ]);
  });
});

describe('invocation scope', () => {
  const context = (lines: string[]) => ({
    invocationId: 'inv-1',
    functionName: 'loadChunkQueue',
    debug: (l: string) => lines.push(`debug ${l}`),
    info: (l: string) => lines.push(`info ${l}`),
    warn: (l: string) => lines.push(`warn ${l}`),
    error: (l: string) => lines.push(`error ${l}`),
  });

  test("an engine's long-lived logger writes to the invocation it is called in, across awaits, with the scope's ids", async () => {
    const engine = createScopedLogger({ level: 'info', fallback: (_e, line) => outside.push(line) });
    const outside: string[] = [];
    const a: string[] = [];
    const b: string[] = [];
    await Promise.all([
      withInvocationLog({ ...context(a), invocationId: 'A' }, async () => {
        addLogFields({ loadId: 'L1', chunkIndex: 0 });
        await new Promise((r) => setTimeout(r, 5));
        engine.info('Chunk completed', { rows: 10 });
      }),
      withInvocationLog({ ...context(b), invocationId: 'B' }, async () => {
        addLogFields({ jobId: 'J1' });
        await Promise.resolve();
        engine.warn('retrying', { requestId: 'r-9' });
        engine.debug('dropped by level');
      }),
    ]);
    engine.info('outside');
    expect(a.map((l) => parseLogLine(l.slice(5)))).toEqual([
      {
        message: 'Chunk completed',
        fields: { functionName: 'loadChunkQueue', invocationId: 'A', loadId: 'L1', chunkIndex: 0, rows: 10 },
      },
    ]);
    expect(b).toEqual([expect.stringMatching(/^warn retrying .*"invocationId":"B".*"jobId":"J1".*"requestId":"r-9"/)]);
    expect(outside).toEqual(['outside']);
  });

  test('invocationLogger uses the context level methods', () => {
    const lines: string[] = [];
    invocationLogger(context(lines)).error('bad', { x: 1 });
    expect(lines).toEqual(['error bad {"functionName":"loadChunkQueue","invocationId":"inv-1","x":1}']);
    runInLogScope({ write: () => undefined }, () => addLogFields({ y: 1 })); // no scope leak afterwards
    addLogFields({ z: 1 }); // outside any scope: ignored
  });
});

describe('load metrics', () => {
  test('per-chunk figures take the client counters delta; per-load figures the record', () => {
    expect(histogramDelta({ '1000': 2, '50': 1 }, { '1000': 3, '50': 1, '10': 2 })).toEqual({ '1000': 1, '10': 2 });
    const counters = (requests: number, batch: Record<string, number>) => ({
      requests,
      throttled: { total: 0, byCode: {} },
      retries: 0,
      batchSizes: batch,
      bulkSizes: {},
    });
    expect(
      chunkMetricsFields({
        loadId: 'L',
        chunkIndex: 2,
        rows: 1000,
        succeeded: 990,
        failed: 10,
        notProcessed: 0,
        durationMs: 2000,
        throttle: { throttled: 3, retries: 4 },
        before: counters(5, { '1000': 1 }),
        after: counters(7, { '1000': 2 }),
        attempt: 1,
      }),
    ).toMatchObject({
      loadId: 'L',
      chunkIndex: 2,
      rowsPerSecond: 500,
      requests: 2,
      throttled: 3,
      retries: 4,
      batchSizes: { '1000': 1 },
    });
    expect(
      loadMetricsFields({
        id: 'L',
        table: 'account',
        status: 'succeeded',
        total: 10,
        succeeded: 10,
        failed: 0,
        notProcessed: 0,
        throttled: 1,
        retries: 2,
        createdAt: '2025-01-01T00:00:00Z',
        startedAt: '2025-01-01T00:00:00Z',
        finishedAt: '2025-01-01T00:00:05Z',
      }),
    ).toMatchObject({ durationSeconds: 5, rowsPerSecond: 2, throttled: 1, retries: 2 });
  });
});

describe('runInLogScope lets go of its writer when its work ends', () => {
  test('a timer started inside but firing after the end logs to the fallback, not to the ended invocation', async () => {
    const inScope: string[] = [];
    const fallback: string[] = [];
    const logger = createScopedLogger({ fallback: (_entry, line) => fallback.push(line) });
    let late!: Promise<void>;
    await runInLogScope({ write: (_entry, line) => inScope.push(line) }, () => {
      logger.info('during');
      late = new Promise((resolve) =>
        setTimeout(() => {
          logger.info('after');
          resolve();
        }, 20),
      );
      return Promise.resolve();
    });
    await late;
    expect(inScope.map((l) => l.includes('during'))).toEqual([true]);
    expect(fallback.some((l) => l.includes('after'))).toBe(true);
  });
});
