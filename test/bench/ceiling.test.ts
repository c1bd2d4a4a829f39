import fc from 'fast-check';
import { bestThroughputCeiling, requestExecutionMs, throughputCeiling, type CeilingLimits } from '../../bench/ceiling';
import { executionMs } from '../../dev/emulator/latency';
import { resolveOptions } from '../../dev/emulator/options';

const dataverseDefaults: CeilingLimits = { requestsPerWindow: 6000, executionMsPerWindow: 1_200_000, windowSeconds: 300, concurrency: 52, timeScale: 1 };

describe('throughputCeiling', () => {
  test('Dataverse defaults, 100 ms per request + 10 ms per create, batches of 1000: the execution-time budget binds', () => {
    const c = throughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 100, perOperationMs: 10 }, batchSize: 1000 });
    expect(c.requestMs).toBe(10_100);
    // 4000 ms of execution per second / 10.1 ms per row
    expect(c.byLimit.executionTime).toBeCloseTo(4000 / 10.1, 6);
    expect(c.byLimit.requests).toBeCloseTo(20 * 1000, 6);
    expect(c.byLimit.concurrency).toBeCloseTo((52 * 1000) / 10.1, 6);
    expect(c.bound).toBe('executionTime');
    expect(c.rowsPerSecond).toBe(c.byLimit.executionTime);
  });

  test('small batches with little latency: the request budget binds (20 requests/s × 10 rows)', () => {
    const c = throughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 10, perOperationMs: 1 }, batchSize: 10 });
    expect(c.bound).toBe('requests');
    expect(c.rowsPerSecond).toBeCloseTo(200, 6);
  });

  test('a low concurrency limit binds', () => {
    const c = throughputCeiling({ limits: { ...dataverseDefaults, concurrency: 2 }, latency: { baseMs: 100, perOperationMs: 10 }, batchSize: 1000 });
    expect(c.bound).toBe('concurrency');
    expect(c.rowsPerSecond).toBeCloseTo((2 * 1000 * 1000) / 10_100, 6);
  });

  test('zero latency: only the request budget limits', () => {
    const c = throughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 0, perOperationMs: 0 }, batchSize: 1000 });
    expect(c.bound).toBe('requests');
    expect(c.byLimit.executionTime).toBe(Infinity);
  });

  test('time scale k with latency ÷ k: k times the real rate, the same bound (what the benchmark relies on)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.1, max: 200, noNaN: true }), fc.double({ min: 0.1, max: 50, noNaN: true }),
        (batchSize, k, baseMs, perOperationMs) => {
          const slow = throughputCeiling({ limits: dataverseDefaults, latency: { baseMs, perOperationMs }, batchSize });
          const fast = throughputCeiling({ limits: { ...dataverseDefaults, timeScale: k }, latency: { baseMs: baseMs / k, perOperationMs: perOperationMs / k }, batchSize });
          expect(fast.bound).toBe(slow.bound);
          expect(fast.rowsPerSecond / slow.rowsPerSecond).toBeCloseTo(k, 6);
        },
      ),
    );
  });

  test('shrinking the window with its budgets (same per-second rates) leaves the ceiling unchanged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 30 }), (batchSize, s) => {
        const latency = { baseMs: 100, perOperationMs: 10 };
        const full = throughputCeiling({ limits: dataverseDefaults, latency, batchSize });
        const shrunk = throughputCeiling({
          limits: { ...dataverseDefaults, windowSeconds: 300 / s, requestsPerWindow: 6000 / s, executionMsPerWindow: 1_200_000 / s },
          latency, batchSize,
        });
        expect(shrunk.rowsPerSecond).toBeCloseTo(full.rowsPerSecond, 6);
      }),
    );
  });

  test('the ceiling never exceeds any single limit and grows with the request budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 100, noNaN: true }), (batchSize, requestsPerWindow, perOperationMs) => {
        const latency = { baseMs: 5, perOperationMs };
        const c = throughputCeiling({ limits: { ...dataverseDefaults, requestsPerWindow }, latency, batchSize });
        expect(c.rowsPerSecond).toBeLessThanOrEqual(Math.min(c.byLimit.requests, c.byLimit.executionTime, c.byLimit.concurrency));
        const more = throughputCeiling({ limits: { ...dataverseDefaults, requestsPerWindow: requestsPerWindow * 2 }, latency, batchSize });
        expect(more.rowsPerSecond).toBeGreaterThanOrEqual(c.rowsPerSecond);
      }),
    );
  });

  test('request execution time matches the emulator latency model, per-table overrides included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }), fc.nat({ max: 500 }), fc.nat({ max: 50 }), fc.option(fc.nat({ max: 500 }), { nil: undefined }), fc.option(fc.nat({ max: 50 }), { nil: undefined }),
        (batchSize, baseMs, perOperationMs, tableBase, tableCreate) => {
          const perTable = { accounts: { ...(tableBase !== undefined ? { baseMs: tableBase } : {}), ...(tableCreate !== undefined ? { create: tableCreate } : {}) } };
          const model = resolveOptions({ latency: { baseMs, perOperationMs, perTable } }).latency;
          const emulatorMs = executionMs(Array.from({ length: batchSize }, () => ({ table: 'accounts', kind: 'create' as const, count: 1 })), model);
          expect(requestExecutionMs({ baseMs, perOperationMs, perTable }, batchSize, 'accounts', 'create')).toBeCloseTo(emulatorMs, 6);
        },
      ),
    );
  });

  test('rejects a batch size below 1 and non-positive limits', () => {
    expect(() => throughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 1, perOperationMs: 1 }, batchSize: 0 })).toThrow(RangeError);
    expect(() => throughputCeiling({ limits: { ...dataverseDefaults, windowSeconds: 0 }, latency: { baseMs: 1, perOperationMs: 1 }, batchSize: 10 })).toThrow(/windowSeconds/);
  });
});

describe('bestThroughputCeiling', () => {
  test('with a per-request base cost the largest batch is best', () => {
    const best = bestThroughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 100, perOperationMs: 10 }, maxBatchSize: 1000 });
    expect(best.batchSize).toBe(1000);
    expect(best.rowsPerSecond).toBeCloseTo(4000 / 10.1, 6);
  });

  test('is at least the ceiling at every batch size', () => {
    const latency = { baseMs: 20, perOperationMs: 3 };
    const best = bestThroughputCeiling({ limits: dataverseDefaults, latency, maxBatchSize: 200 });
    for (const batchSize of [1, 10, 50, 199, 200]) expect(best.rowsPerSecond).toBeGreaterThanOrEqual(throughputCeiling({ limits: dataverseDefaults, latency, batchSize }).rowsPerSecond);
  });
});
