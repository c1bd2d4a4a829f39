import type { EmulatorHandle } from '../../../dev/emulator/index';
import { createFaultInjector } from '../../../dev/emulator/faults';
import { seededRandom } from '../../../dev/seededRandom';
import { resolveOptions } from '../../../dev/emulator/options';
import { auth, errorOf, startWidgetEmulator, type WidgetRoute } from './testRoute';

const faultsWith = (patch: Partial<ReturnType<typeof resolveOptions>['faults']>) => () => ({
  ...resolveOptions().faults,
  ...patch,
});

describe('fault injection (pure)', () => {
  test('the same seed gives the same sequence; rates hold over many draws', () => {
    const a = createFaultInjector(faultsWith({ rate429: 0.1, rate503: 0.1, rateDrop: 0.1, rateSlow: 0.1, seed: 42 }));
    const b = createFaultInjector(faultsWith({ rate429: 0.1, rate503: 0.1, rateDrop: 0.1, rateSlow: 0.1, seed: 42 }));
    const seqA = Array.from({ length: 4000 }, () => a.next());
    expect(Array.from({ length: 4000 }, () => b.next())).toEqual(seqA);
    for (const kind of ['429', '503', 'drop', 'slow'] as const) {
      const share = seqA.filter((f) => f === kind).length / seqA.length;
      expect(share).toBeGreaterThan(0.07);
      expect(share).toBeLessThan(0.13);
    }
    const other = createFaultInjector(
      faultsWith({ rate429: 0.1, rate503: 0.1, rateDrop: 0.1, rateSlow: 0.1, seed: 43 }),
    );
    expect(Array.from({ length: 4000 }, () => other.next())).not.toEqual(seqA);
  });

  test('no rates → never a fault; seededRandom stays in [0, 1)', () => {
    const none = createFaultInjector(faultsWith({}));
    expect(new Set(Array.from({ length: 100 }, () => none.next()))).toEqual(new Set(['none']));
    const r = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('fault injection over HTTP, and stats', () => {
  let emulator: EmulatorHandle;
  let widgets: WidgetRoute;
  beforeAll(async () => {
    ({ emulator, widgets } = await startWidgetEmulator());
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.configure({ faults: { rate429: 0, rate503: 0, rateDrop: 0, rateSlow: 0, dropAfterProcessing: false } });
    emulator.reset();
    widgets.widgets.clear();
  });

  const create = () => fetch(`${emulator.webApiUrl}widgets`, { method: 'POST', headers: auth, body: '{"name":"w"}' });

  test('rate429 = 1: every call throttled with an integer Retry-After, counted under faults not limits', async () => {
    emulator.configure({ faults: { rate429: 1 } });
    const res = await create();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await errorOf(res)).code).toBe('0x80072322');
    expect(widgets.widgets.size).toBe(0);
    expect(emulator.stats()).toMatchObject({ faults: { '429': 1 }, throttled: {} });
  });

  test('rate503 = 1: 503 in the error shape', async () => {
    emulator.configure({ faults: { rate503: 1 } });
    const res = await create();
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toContain('temporarily unavailable');
    expect(emulator.stats().faults['503']).toBe(1);
  });

  test('rateDrop = 1: the socket is destroyed before the request runs; with dropAfterProcessing the record exists', async () => {
    emulator.configure({ faults: { rateDrop: 1 } });
    await expect(create()).rejects.toThrow();
    expect(widgets.widgets.size).toBe(0);
    emulator.configure({ faults: { dropAfterProcessing: true } });
    await expect(create()).rejects.toThrow();
    expect(widgets.widgets.size).toBe(1);
    expect(emulator.stats().faults.drop).toBe(2);
  });

  test('rateSlow = 1: the answer comes after slowMs', async () => {
    emulator.configure({ faults: { rateSlow: 1, slowMs: 300 } });
    const started = performance.now();
    const res = await create();
    expect(res.status).toBe(204);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(emulator.stats().faults.slow).toBe(1);
  });

  test('a seed replays the same faults after reset', async () => {
    emulator.configure({ faults: { rate503: 0.5, seed: 9 } });
    const run = async () => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await create();
        out.push(r.status);
        await r.arrayBuffer();
      }
      return out;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(204);
    emulator.reset();
    expect(await run()).toEqual(first);
  });

  test('stats count requests, operations, statuses; reset clears them', async () => {
    await (await create()).arrayBuffer();
    await (await fetch(`${emulator.webApiUrl}widgets(none)`, { headers: auth })).arrayBuffer();
    const s = emulator.stats();
    expect(s).toMatchObject({ requests: 2, operations: 2, batches: 0, statuses: { '204': 1, '404': 1 }, inFlight: 0 });
    expect(s.recordsPerTable).toEqual(expect.any(Object));
    const over = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as typeof s;
    expect(over.requests).toBe(2);
    emulator.reset();
    expect(emulator.stats()).toMatchObject({ requests: 0, operations: 0, statuses: {} });
  });
});
