import fc from 'fast-check';
import { bestCeilingFor, ceilingFor, defaultBenchProfile, emulatorOptionsFor } from '../../bench/benchProfile';
import { bestThroughputCeiling, requestExecutionMs, throughputCeiling, type CeilingLimits } from '../../bench/ceiling';
import { executionMs } from '../../dev/emulator/latency';
import { resolveOptions } from '../../dev/emulator/options';

const dataverseDefaults: CeilingLimits = {
  requestsPerWindow: 6000,
  executionMsPerWindow: 1_200_000,
  windowSeconds: 300,
  concurrency: 52,
  timeScale: 1,
};

describe('throughputCeiling', () => {
  test('Dataverse defaults, 100 ms per request + 10 ms per create, batches of 1000: the execution-time budget binds', () => {
    const c = throughputCeiling({
      limits: dataverseDefaults,
      latency: { baseMs: 100, perOperationMs: 10 },
      batchSize: 1000,
    });
    expect(c.requestMs).toBe(10_100);
    // 4000 ms of execution per second / 10.1 ms per row
    expect(c.byLimit.executionTime).toBeCloseTo(4000 / 10.1, 6);
    expect(c.byLimit.requests).toBeCloseTo(20 * 1000, 6);
    expect(c.byLimit.concurrency).toBeCloseTo((52 * 1000) / 10.1, 6);
    expect(c.bound).toBe('executionTime');
    expect(c.rowsPerSecond).toBe(c.byLimit.executionTime);
  });

  test('small batches with little latency: the request budget binds (20 requests/s × 10 rows)', () => {
    const c = throughputCeiling({
      limits: dataverseDefaults,
      latency: { baseMs: 10, perOperationMs: 1 },
      batchSize: 10,
    });
    expect(c.bound).toBe('requests');
    expect(c.rowsPerSecond).toBeCloseTo(200, 6);
  });

  test('a low concurrency limit binds', () => {
    const c = throughputCeiling({
      limits: { ...dataverseDefaults, concurrency: 2 },
      latency: { baseMs: 100, perOperationMs: 10 },
      batchSize: 1000,
    });
    expect(c.bound).toBe('concurrency');
    expect(c.rowsPerSecond).toBeCloseTo((2 * 1000 * 1000) / 10_100, 6);
  });

  test('zero latency: only the request budget limits', () => {
    const c = throughputCeiling({
      limits: dataverseDefaults,
      latency: { baseMs: 0, perOperationMs: 0 },
      batchSize: 1000,
    });
    expect(c.bound).toBe('requests');
    expect(c.byLimit.executionTime).toBe(Infinity);
  });

  test('time scale k with latency ÷ k: k times the real rate, the same bound (what the benchmark relies on)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0.1, max: 200, noNaN: true }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        (batchSize, k, baseMs, perOperationMs) => {
          const slow = throughputCeiling({ limits: dataverseDefaults, latency: { baseMs, perOperationMs }, batchSize });
          const fast = throughputCeiling({
            limits: { ...dataverseDefaults, timeScale: k },
            latency: { baseMs: baseMs / k, perOperationMs: perOperationMs / k },
            batchSize,
          });
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
          limits: {
            ...dataverseDefaults,
            windowSeconds: 300 / s,
            requestsPerWindow: 6000 / s,
            executionMsPerWindow: 1_200_000 / s,
          },
          latency,
          batchSize,
        });
        expect(shrunk.rowsPerSecond).toBeCloseTo(full.rowsPerSecond, 6);
      }),
    );
  });

  test('the ceiling never exceeds any single limit and grows with the request budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (batchSize, requestsPerWindow, perOperationMs) => {
          const latency = { baseMs: 5, perOperationMs };
          const c = throughputCeiling({ limits: { ...dataverseDefaults, requestsPerWindow }, latency, batchSize });
          expect(c.rowsPerSecond).toBeLessThanOrEqual(
            Math.min(c.byLimit.requests, c.byLimit.executionTime, c.byLimit.concurrency),
          );
          const more = throughputCeiling({
            limits: { ...dataverseDefaults, requestsPerWindow: requestsPerWindow * 2 },
            latency,
            batchSize,
          });
          expect(more.rowsPerSecond).toBeGreaterThanOrEqual(c.rowsPerSecond);
        },
      ),
    );
  });

  test('request execution time matches the emulator latency model, per-table overrides included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.nat({ max: 500 }),
        fc.nat({ max: 50 }),
        fc.option(fc.nat({ max: 500 }), { nil: undefined }),
        fc.option(fc.nat({ max: 50 }), { nil: undefined }),
        (batchSize, baseMs, perOperationMs, tableBase, tableCreate) => {
          const perTable = {
            accounts: {
              ...(tableBase !== undefined ? { baseMs: tableBase } : {}),
              ...(tableCreate !== undefined ? { create: tableCreate } : {}),
            },
          };
          const model = resolveOptions({ latency: { baseMs, perOperationMs, perTable } }).latency;
          const emulatorMs = executionMs(
            Array.from({ length: batchSize }, () => ({ table: 'accounts', kind: 'create' as const, count: 1 })),
            model,
          );
          expect(requestExecutionMs({ baseMs, perOperationMs, perTable }, batchSize, 'accounts', 'create')).toBeCloseTo(
            emulatorMs,
            6,
          );
        },
      ),
    );
  });

  test('rejects a batch size below 1 and non-positive limits', () => {
    expect(() =>
      throughputCeiling({ limits: dataverseDefaults, latency: { baseMs: 1, perOperationMs: 1 }, batchSize: 0 }),
    ).toThrow(RangeError);
    expect(() =>
      throughputCeiling({
        limits: { ...dataverseDefaults, windowSeconds: 0 },
        latency: { baseMs: 1, perOperationMs: 1 },
        batchSize: 10,
      }),
    ).toThrow(/windowSeconds/);
  });
});

describe('bestThroughputCeiling', () => {
  test('with a per-request base cost the largest batch is best', () => {
    const best = bestThroughputCeiling({
      limits: dataverseDefaults,
      latency: { baseMs: 100, perOperationMs: 10 },
      maxBatchSize: 1000,
    });
    expect(best.batchSize).toBe(1000);
    expect(best.rowsPerSecond).toBeCloseTo(4000 / 10.1, 6);
  });

  test('is at least the ceiling at every batch size', () => {
    const latency = { baseMs: 20, perOperationMs: 3 };
    const best = bestThroughputCeiling({ limits: dataverseDefaults, latency, maxBatchSize: 200 });
    for (const batchSize of [1, 10, 50, 199, 200])
      expect(best.rowsPerSecond).toBeGreaterThanOrEqual(
        throughputCeiling({ limits: dataverseDefaults, latency, batchSize }).rowsPerSecond,
      );
  });

  test('over both shapes, the bulk factor makes CreateMultiple of 1000 the best; $batch alone keeps its own best', () => {
    const latency = { baseMs: 100, perOperationMs: 10, bulkOperationFactor: 0.25 };
    const best = bestThroughputCeiling({ limits: dataverseDefaults, latency, maxBatchSize: 1000 });
    expect(best).toMatchObject({ shape: 'bulk', batchSize: 1000, bound: 'executionTime', requestMs: 2600 });
    expect(best.rowsPerSecond).toBeCloseTo((4000 * 1000) / 2600, 6);
    const batchOnly = bestThroughputCeiling({
      limits: dataverseDefaults,
      latency,
      maxBatchSize: 1000,
      shapes: ['batch'],
    });
    expect(batchOnly).toMatchObject({ shape: 'batch', batchSize: 1000 });
    expect(batchOnly.rowsPerSecond).toBeCloseTo(4000 / 10.1, 6);
    // Without a factor the two shapes cost the same and the best is the same figure.
    expect(
      bestThroughputCeiling({
        limits: dataverseDefaults,
        latency: { baseMs: 100, perOperationMs: 10 },
        maxBatchSize: 1000,
      }).rowsPerSecond,
    ).toBeCloseTo(4000 / 10.1, 6);
  });

  test('the best over both shapes is never below any shape at any batch size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.double({ min: 0.1, max: 20, noNaN: true }),
        (batchSize, bulkOperationFactor, baseMs, perOperationMs) => {
          const latency = { baseMs, perOperationMs, bulkOperationFactor };
          const best = bestThroughputCeiling({ limits: dataverseDefaults, latency, maxBatchSize: 60 });
          for (const shape of ['batch', 'bulk'] as const)
            expect(best.rowsPerSecond).toBeGreaterThanOrEqual(
              throughputCeiling({ limits: dataverseDefaults, latency, batchSize, shape }).rowsPerSecond * (1 - 1e-12),
            );
        },
      ),
    );
  });
});

describe('bulkOperationFactor', () => {
  test('scales the per-row part of a bulk request only; a $batch request ignores it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        (batchSize, factor, baseMs, perOperationMs) => {
          const latency = { baseMs, perOperationMs, bulkOperationFactor: factor };
          expect(requestExecutionMs(latency, batchSize, undefined, 'create', 'bulk')).toBeCloseTo(
            baseMs + factor * perOperationMs * batchSize,
            6,
          );
          expect(requestExecutionMs(latency, batchSize, undefined, 'create', 'batch')).toBeCloseTo(
            baseMs + perOperationMs * batchSize,
            6,
          );
          expect(throughputCeiling({ limits: dataverseDefaults, latency, batchSize }).rowsPerSecond).toBe(
            throughputCeiling({ limits: dataverseDefaults, latency: { baseMs, perOperationMs }, batchSize })
              .rowsPerSecond,
          );
        },
      ),
    );
  });

  test('with no base cost the execution-bound ceiling of a bulk request is exactly 1/factor times the $batch one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        (batchSize, factor, perOperationMs) => {
          const latency = { baseMs: 0, perOperationMs, bulkOperationFactor: factor };
          const batch = throughputCeiling({ limits: dataverseDefaults, latency, batchSize, shape: 'batch' });
          const bulk = throughputCeiling({ limits: dataverseDefaults, latency, batchSize, shape: 'bulk' });
          expect(bulk.byLimit.executionTime / batch.byLimit.executionTime).toBeCloseTo(1 / factor, 6);
          expect(bulk.byLimit.requests).toBe(batch.byLimit.requests);
        },
      ),
    );
  });

  test('time scale k (latency ÷ k, factor unchanged) and window shrink s keep their invariants for bulk requests', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 200, noNaN: true }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        (batchSize, k, s, factor, baseMs, perOperationMs) => {
          const slow = throughputCeiling({
            limits: dataverseDefaults,
            latency: { baseMs, perOperationMs, bulkOperationFactor: factor },
            batchSize,
            shape: 'bulk',
          });
          const scaled = throughputCeiling({
            limits: {
              windowSeconds: 300 / s,
              requestsPerWindow: 6000 / s,
              executionMsPerWindow: 1_200_000 / s,
              concurrency: 52,
              timeScale: k,
            },
            latency: { baseMs: baseMs / k, perOperationMs: perOperationMs / k, bulkOperationFactor: factor },
            batchSize,
            shape: 'bulk',
          });
          expect(scaled.bound).toBe(slow.bound);
          expect(scaled.rowsPerSecond / slow.rowsPerSecond).toBeCloseTo(k, 6);
        },
      ),
    );
  });

  test('matches the emulator latency model for a bulk message', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.nat({ max: 500 }),
        fc.nat({ max: 50 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (count, baseMs, perOperationMs, factor) => {
          const model = resolveOptions({
            latency: { baseMs, perOperationMs, bulkOperationFactor: factor, perTable: {} },
          }).latency;
          const emulatorMs = executionMs([{ table: 'accounts', kind: 'create', count, bulk: true }], model);
          expect(
            requestExecutionMs(
              { baseMs, perOperationMs, bulkOperationFactor: factor },
              count,
              'accounts',
              'create',
              'bulk',
            ),
          ).toBeCloseTo(emulatorMs, 6);
        },
      ),
    );
  });

  test('rejects a factor outside (0, 1]', () => {
    for (const bulkOperationFactor of [0, -0.5, 1.5, Number.NaN]) {
      expect(() =>
        throughputCeiling({
          limits: dataverseDefaults,
          latency: { baseMs: 1, perOperationMs: 1, bulkOperationFactor },
          batchSize: 10,
          shape: 'bulk',
        }),
      ).toThrow(/bulkOperationFactor/);
    }
  });
});

describe('the bench profile', () => {
  test('compares every loader with the bulk ceiling (the best any shape allows), exactly k times its Dataverse value', () => {
    const p = defaultBenchProfile;
    const best = bestCeilingFor(p);
    expect(best).toMatchObject({ shape: 'bulk', batchSize: 1000, bound: 'executionTime' });
    const dataverse =
      (4000 * 1000) /
      (p.dataverseLatency.baseMs + p.dataverseLatency.bulkOperationFactor * p.dataverseLatency.perOperationMs * 1000);
    expect(best.rowsPerSecond).toBeCloseTo(dataverse * p.speedUp, 6);
    expect(best.rowsPerSecond).toBeGreaterThan(bestCeilingFor(p, ['batch']).rowsPerSecond);
    expect(ceilingFor(p, 1000, 'bulk').rowsPerSecond).toBeCloseTo(best.rowsPerSecond, 6);
    expect(ceilingFor(p, 10, 'batch').rowsPerSecond).toBeLessThan(best.rowsPerSecond);
    // The emulator gets the same factor (the ceiling is computed from what the emulator runs).
    expect(emulatorOptionsFor(p).latency?.bulkOperationFactor).toBe(p.dataverseLatency.bulkOperationFactor);
  });
});
