import fc from 'fast-check';
import type { LoadView } from '../../cli/apiClient';
import { formatDuration, jobPercent, loadProgress } from '../../cli/progress';

const start = Date.parse('2026-12-07T00:00:00Z');

function view(overrides: Partial<LoadView> = {}): LoadView {
  return {
    id: 'l1',
    status: 'running',
    table: 'account',
    counts: { total: 1000, succeeded: 400, failed: 100, notProcessed: 0, processed: 500 },
    timings: { createdAt: new Date(start).toISOString(), startedAt: new Date(start).toISOString() },
    ...overrides,
  };
}

describe('loadProgress', () => {
  it('prefers the live rate, ETA, concurrency and 429s of the last minute while the load runs', () => {
    const p = loadProgress(
      view({ progress: { rowsPerSecond: 50, etaSeconds: 9, dataverse: { concurrency: 6, throttledLastMinute: 2 } } }),
      start + 100_000,
    );
    expect(p).toEqual({
      done: 500,
      total: 1000,
      fraction: 0.5,
      failed: 100,
      rowsPerSecond: 50,
      etaSeconds: 9,
      concurrency: 6,
      throttled: 2,
      throttledSince: 'lastMinute',
    });
  });

  it('falls back to the average since the start when the app has no live fields', () => {
    const p = loadProgress(view({ throttling: { throttled: 7, retries: 7 } }), start + 10_000);
    expect(p).toMatchObject({ rowsPerSecond: 50, etaSeconds: 10, throttled: 7, throttledSince: 'start' });
  });

  it('has no ETA once the load ended, and counts 429s since the start', () => {
    const finishedAt = new Date(start + 20_000).toISOString();
    const p = loadProgress(
      view({
        status: 'partiallySucceeded',
        counts: { total: 1000, succeeded: 900, failed: 100, notProcessed: 0 },
        timings: { createdAt: finishedAt, startedAt: new Date(start).toISOString(), finishedAt },
        throttling: { throttled: 3, retries: 3 },
        progress: { rowsPerSecond: 0, dataverse: { throttledLastMinute: 0 } },
      }),
      start + 999_000,
    );
    expect(p.etaSeconds).toBeUndefined();
    expect(p).toMatchObject({ done: 1000, fraction: 1, throttled: 3, throttledSince: 'start' });
  });

  it('keeps the fraction within 0..1 and the ETA non-negative for any counts', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.nat(1_000_000),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 10_000_000 }),
        (total, succeeded, failed, elapsedMs) => {
          const p = loadProgress(view({ counts: { total, succeeded, failed, notProcessed: 0 } }), start + elapsedMs);
          expect(p.done).toBe(succeeded + failed);
          expect(p.fraction).toBeGreaterThanOrEqual(0);
          expect(p.fraction).toBeLessThanOrEqual(1);
          if (p.etaSeconds !== undefined) expect(p.etaSeconds).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('has no total, fraction or ETA before the scan has counted the rows', () => {
    const p = loadProgress(view({ counts: { succeeded: 10, failed: 0, notProcessed: 0 } }), start + 1000);
    expect(p.total).toBeUndefined();
    expect(p.fraction).toBeUndefined();
    expect(p.etaSeconds).toBeUndefined();
  });
});

test('jobPercent: clamps the import progress, 100 once ended, unknown when not reported', () => {
  const job = { id: 'j', kind: 'ImportSolution', state: 'running', createdAt: '2026-12-07T00:00:00Z' };
  expect(jobPercent({ ...job, progress: 42.5 }, false)).toBe(42.5);
  expect(jobPercent({ ...job, progress: 140 }, false)).toBe(100);
  expect(jobPercent(job, false)).toBeUndefined();
  expect(jobPercent(job, true)).toBe(100);
});

test('formatDuration', () => {
  expect([0, 59, 75, 3599, 3725].map(formatDuration)).toEqual(['0s', '59s', '1m 15s', '59m 59s', '1h 2m']);
});
