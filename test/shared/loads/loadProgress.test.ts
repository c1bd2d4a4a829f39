/** Live progress from chunk entities (loadProgress.ts): states, the last minute's rate, the ETA, 429s. */
import fc from 'fast-check';
import { chunkProgressOf, progressOf, type ChunkDone } from '../../../shared/loads/loadProgress';
import type { ChunkMessage } from '../../../shared/loads/loadRecord';

const plan = (chunkIndex: number, rowCount = 100): ChunkMessage => ({
  loadId: 'l',
  chunkIndex,
  firstRow: chunkIndex * 100 + 1,
  rowCount,
  firstLine: chunkIndex * 100 + 2,
});
const t0 = Date.parse('2026-12-07T00:00:00.000Z');
const iso = (ms: number) => new Date(t0 + ms).toISOString();
const done = (chunkIndex: number, atMs: number, extra: Partial<ChunkDone> = {}): ChunkDone => ({
  chunkIndex,
  at: iso(atMs),
  succeeded: 100,
  failed: 0,
  notProcessed: 0,
  throttled: 0,
  concurrency: 8,
  ...extra,
});

test('chunk states: done when completed, running once started, else queued; in chunk order', () => {
  const chunks = chunkProgressOf(
    [plan(2), plan(0), plan(1)],
    new Map([
      [1, iso(0)],
      [0, iso(0)],
    ]),
    [done(0, 1000)],
  );
  expect(chunks.map((c) => [c.index, c.state])).toEqual([
    [0, 'done'],
    [1, 'running'],
    [2, 'queued'],
  ]);
});

test('rows/s counts the last minute only; ETA is rows left at that rate; 429s of the last minute', () => {
  const started = new Map(Array.from({ length: 10 }, (_, i) => [i, iso(0)] as const));
  const chunks = chunkProgressOf(
    Array.from({ length: 10 }, (_, i) => plan(i)),
    started,
    [
      done(0, 10_000, { throttled: 5 }),
      done(1, 70_000, { throttled: 2 }),
      done(2, 80_000, { failed: 10, succeeded: 90, concurrency: 6 }),
    ],
  );
  const progress = progressOf({ chunks, at: t0 + 90_000, startedAt: t0, total: 1000, processed: 300, running: true });
  // Chunks 1 and 2 ended within [30 s, 90 s]: 200 rows / 60 s.
  expect(progress.rowsPerSecond).toBe(3);
  expect(progress.etaSeconds).toBe(Math.ceil(700 / 3));
  expect(progress.chunks).toMatchObject({ total: 10, done: 3, running: 7, queued: 0 });
  expect(progress.chunks.items[2]).toEqual({
    index: 2,
    firstRow: 201,
    rowCount: 100,
    state: 'done',
    succeeded: 90,
    failed: 10,
  });
  expect(progress.dataverse).toEqual({ concurrency: 6, throttledLastMinute: 2 });
});

test('a load younger than a minute is rated over its age; an ended load has no ETA', () => {
  const chunks = chunkProgressOf([plan(0), plan(1)], new Map([[0, iso(0)]]), [done(0, 5_000)]);
  const running = progressOf({ chunks, at: t0 + 10_000, startedAt: t0, total: 200, processed: 100, running: true });
  expect(running.rowsPerSecond).toBe(10);
  expect(running.etaSeconds).toBe(10);
  const ended = progressOf({ chunks, at: t0 + 10_000, startedAt: t0, total: 200, processed: 200, running: false });
  expect(ended.etaSeconds).toBeUndefined();
});

test('property: the chunk counts add up, the rate is never negative, and no ETA without a rate', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ started: fc.boolean(), doneAt: fc.option(fc.integer({ min: 0, max: 300_000 })) }), {
        maxLength: 40,
      }),
      fc.integer({ min: 0, max: 300_000 }),
      (specs, now) => {
        const chunks = chunkProgressOf(
          specs.map((_, i) => plan(i)),
          new Map(specs.flatMap((s, i) => (s.started ? [[i, iso(0)] as const] : []))),
          specs.flatMap((s, i) => (s.doneAt !== null ? [done(i, s.doneAt)] : [])),
        );
        const p = progressOf({
          chunks,
          at: t0 + now,
          startedAt: t0,
          total: specs.length * 100,
          processed: 0,
          running: true,
        });
        expect(p.chunks.queued + p.chunks.running + p.chunks.done).toBe(specs.length);
        expect(p.chunks.done).toBe(specs.filter((s) => s.doneAt !== null).length);
        expect(p.rowsPerSecond).toBeGreaterThanOrEqual(0);
        if (p.rowsPerSecond === 0) expect(p.etaSeconds).toBeUndefined();
      },
    ),
    { numRuns: 200 },
  );
});
