import type { EmulatorHandle } from '../../../dev/emulator/index';
import { createServiceProtection, executionMessage } from '../../../dev/emulator/limits';
import { classifyOperation, executionMs } from '../../../dev/emulator/latency';
import { resolveOptions } from '../../../dev/emulator/options';
import { auth, batchBody, createPart, errorOf, startWidgetEmulator, unsignedJwt } from './testRoute';

const limitsWith = (patch: Partial<ReturnType<typeof resolveOptions>['limits']>) => ({
  ...resolveOptions().limits,
  ...patch,
});

describe('service protection (clocked)', () => {
  test('requests per sliding window: the next one is refused with 0x80072322 until the oldest leaves the window', () => {
    let t = 0;
    const sp = createServiceProtection(
      () => limitsWith({ requestsPerWindow: 3, windowSeconds: 10 }),
      () => t,
    );
    for (let i = 0; i < 3; i++) {
      const a = sp.admit('u');
      expect(a.ok).toBe(true);
      if (a.ok) a.release(0);
      t += 1000;
    }
    const refused = sp.admit('u');
    expect(refused).toEqual({
      ok: false,
      code: '0x80072322',
      message: 'Number of requests exceeded the limit of 3 over time window of 10 seconds.',
      retryAfterSeconds: 7,
    });
    expect(sp.admit('someone-else').ok).toBe(true); // per caller
    t = 10_001;
    expect(sp.admit('u').ok).toBe(true);
  });

  test('execution time: accrues on completion; Retry-After is when enough time leaves the window', () => {
    let t = 0;
    const sp = createServiceProtection(
      () => limitsWith({ executionMsPerWindow: 1000, windowSeconds: 60 }),
      () => t,
    );
    const a = sp.admit('u');
    if (!a.ok) throw new Error('refused');
    a.release(600);
    t = 5000;
    const b = sp.admit('u');
    if (!b.ok) throw new Error('refused');
    expect(b.remaining()).toEqual({ requests: 5998, executionMs: 400 });
    b.release(500);
    t = 6000;
    const refused = sp.admit('u');
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.code).toBe('0x80072321');
    expect(refused.message).toBe(executionMessage(limitsWith({ executionMsPerWindow: 1000, windowSeconds: 60 })));
    expect(refused.retryAfterSeconds).toBe(54); // the first execution (ended at 0) leaves at 60 s
  });

  test('the documented message keeps Microsoft formatting', () => {
    expect(executionMessage(resolveOptions().limits)).toBe(
      'Combined execution time of incoming requests exceeded limit of 1,200,000  milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.',
    );
  });

  test('timeScale shrinks the window and scales accrued execution; Retry-After stays an integer ≥ 1 of real seconds', () => {
    let t = 0;
    const sp = createServiceProtection(
      () => limitsWith({ executionMsPerWindow: 60_000, windowSeconds: 300, timeScale: 60 }),
      () => t,
    );
    const a = sp.admit('u');
    if (!a.ok) throw new Error('refused');
    a.release(1000); // 1 real second = 60 emulated seconds
    const refused = sp.admit('u');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterSeconds).toBe(5); // 300 s / 60
    t = 4_500;
    const again = sp.admit('u');
    if (!again.ok) expect(again.retryAfterSeconds).toBe(1); // 0.5 s rounds up to 1
    t = 5_001;
    expect(sp.admit('u').ok).toBe(true);
  });

  test('concurrency: one over the limit fails at once; releasing frees the slot', () => {
    const sp = createServiceProtection(
      () => limitsWith({ concurrency: 2 }),
      () => 0,
    );
    const a = sp.admit('u');
    const b = sp.admit('u');
    const c = sp.admit('u');
    expect(c).toMatchObject({
      ok: false,
      code: '0x80072326',
      message: 'Number of concurrent requests exceeded the limit of 2.',
      retryAfterSeconds: 1,
    });
    if (a.ok) a.release(0);
    expect(sp.admit('u').ok).toBe(true);
    expect(b.ok).toBe(true);
  });
});

describe('latency model', () => {
  const model = {
    baseMs: 10,
    perOperationMs: 2,
    perTable: { accounts: { create: 5 }, tasks: { perOperationMs: 1, baseMs: 3 } },
  };
  test('base once per request, per-operation costs by table and kind; bulk targets count', () => {
    expect(executionMs([classifyOperation('POST', 'accounts', '{}')], model)).toBe(15);
    expect(executionMs([classifyOperation('PATCH', 'accounts(1)', '{}')], model)).toBe(12);
    expect(
      executionMs([classifyOperation('POST', 'tasks', '{}'), classifyOperation('POST', 'tasks', '{}')], model),
    ).toBe(5);
    const bulk = classifyOperation(
      'POST',
      'accounts/Microsoft.Dynamics.CRM.CreateMultiple',
      JSON.stringify({ Targets: [{}, {}, {}] }),
    );
    expect(bulk).toEqual({ table: 'accounts', kind: 'create', count: 3, bulk: true });
    expect(executionMs([bulk], model)).toBe(25);
    // bulkOperationFactor makes each bulk target cheaper than the same operation in a $batch, and only there.
    const cheaperBulk = { ...model, bulkOperationFactor: 0.2 };
    expect(executionMs([bulk], cheaperBulk)).toBe(10 + 3 * 5 * 0.2);
    expect(executionMs([classifyOperation('POST', 'accounts', '{}')], cheaperBulk)).toBe(15);
    expect(classifyOperation('POST', 'ImportSolutionAsync', '{}')).toEqual({
      table: undefined,
      kind: 'other',
      count: 1,
    });
    expect(classifyOperation('GET', 'WhoAmI', '')).toMatchObject({ kind: 'retrieve', table: undefined });
  });

  test('perTable may name a table by logical name; the entity set entry wins field by field', () => {
    const logicalNameOf = (set: string) => ({ accounts: 'account', contacts: 'contact' })[set];
    const byName = {
      baseMs: 10,
      perOperationMs: 2,
      perTable: { account: { create: 7, baseMs: 1 }, accounts: { create: 5 } },
    };
    expect(executionMs([classifyOperation('POST', 'accounts', '{}')], byName, logicalNameOf)).toBe(1 + 5);
    expect(executionMs([classifyOperation('DELETE', 'accounts(1)', '')], byName, logicalNameOf)).toBe(1 + 2);
    const onlyName = { baseMs: 10, perOperationMs: 2, perTable: { contact: { update: 4 } } };
    expect(executionMs([classifyOperation('PATCH', 'contacts(1)', '{}')], onlyName, logicalNameOf)).toBe(10 + 4);
    // Without a way to map entity sets, only entity set keys apply.
    expect(executionMs([classifyOperation('PATCH', 'contacts(1)', '{}')], onlyName)).toBe(10 + 2);
  });
});

describe('latency by logical name over HTTP', () => {
  test('configure({ latency: { perTable: { account } } }) costs account creates and asyncoperation reads by logical name', async () => {
    const { emulator: emu } = await startWidgetEmulator();
    try {
      emu.configure({
        latency: {
          baseMs: 0,
          perOperationMs: 0,
          perTable: { account: { create: 40 }, asyncoperation: { retrieve: 30 } },
        },
      });
      const created = await fetch(`${emu.webApiUrl}accounts`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Timed' }),
      });
      expect(created.status).toBe(204);
      expect(emu.stats().executionMs).toBe(40);
      expect((await fetch(`${emu.webApiUrl}asyncoperations`, { headers: auth })).status).toBe(200);
      expect(emu.stats().executionMs).toBe(70);
      expect((await fetch(`${emu.webApiUrl}contacts`, { headers: auth })).status).toBe(200);
      expect(emu.stats().executionMs).toBe(70);
    } finally {
      await emu.close();
    }
  });
});

describe('service protection over HTTP', () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    ({ emulator } = await startWidgetEmulator());
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  const create = (token = 'test-token') =>
    fetch(`${emulator.webApiUrl}widgets`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: '{"name":"w"}',
    });

  test('a $batch and a bulk request each count as ONE request', async () => {
    emulator.configure({
      limits: { requestsPerWindow: 2, windowSeconds: 300, executionMsPerWindow: 1e9, concurrency: 52, timeScale: 1 },
    });
    const batch = await fetch(`${emulator.webApiUrl}$batch`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'multipart/mixed; boundary=b' },
      body: batchBody(
        'b',
        Array.from({ length: 50 }, () => createPart('widgets', { name: 'x' })),
      ),
    });
    expect(batch.status).toBe(200);
    expect(batch.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('1');
    await batch.text();
    expect((await create()).status).toBe(204);
    const third = await create();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(299);
    expect(third.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBeNull();
    expect(await third.json()).toEqual({
      error: {
        code: '0x80072322',
        message: 'Number of requests exceeded the limit of 2 over time window of 300 seconds.',
      },
    });
    // Another caller has its own window.
    expect((await create(unsignedJwt({ sub: 'other' }))).status).toBe(204);
    expect(emulator.stats()).toMatchObject({ throttled: { '0x80072322': 1 }, operations: 52 });
  });

  test('execution time from the latency model: a batch accrues per operation and then throttles with 0x80072321', async () => {
    emulator.configure({
      latency: { baseMs: 0, perOperationMs: 2 },
      limits: { requestsPerWindow: 6000, executionMsPerWindow: 100, windowSeconds: 300, concurrency: 52, timeScale: 1 },
    });
    try {
      const batch = await fetch(`${emulator.webApiUrl}$batch`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'multipart/mixed; boundary=b' },
        body: batchBody(
          'b',
          Array.from({ length: 60 }, () => createPart('widgets', { name: 'x' })),
        ),
      });
      expect(batch.status).toBe(200);
      await batch.text();
      expect(emulator.stats().executionMs).toBe(120);
      const next = await create();
      expect(next.status).toBe(429);
      expect((await errorOf(next)).code).toBe('0x80072321');
      expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      emulator.configure({ latency: { baseMs: 0, perOperationMs: 0 } });
    }
  });

  test('concurrent requests beyond the limit fail immediately with 0x80072326 while the others complete', async () => {
    emulator.configure({
      latency: { baseMs: 1500 },
      limits: { requestsPerWindow: 6000, executionMsPerWindow: 1e9, windowSeconds: 300, concurrency: 3, timeScale: 1 },
    });
    try {
      const responses = await Promise.all(Array.from({ length: 6 }, () => create()));
      const codes = responses.map((r) => r.status).sort();
      expect(codes).toEqual([204, 204, 204, 429, 429, 429]);
      for (const r of responses.filter((x) => x.status === 429)) {
        expect(await errorOf(r)).toEqual({
          code: '0x80072326',
          message: 'Number of concurrent requests exceeded the limit of 3.',
        });
        expect(r.headers.get('retry-after')).toBe('1');
      }
      expect(emulator.stats().throttled['0x80072326']).toBe(3);
    } finally {
      emulator.configure({ latency: { baseMs: 0 } });
    }
  });

  test('timeScale: a window of 300 emulated seconds lasts 300/timeScale real seconds', async () => {
    emulator.configure({
      limits: { requestsPerWindow: 1, windowSeconds: 300, executionMsPerWindow: 1e9, concurrency: 52, timeScale: 300 },
    });
    expect((await create()).status).toBe(204);
    const refused = await create();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    await refused.arrayBuffer();
    const started = Date.now();
    let status = 429;
    while (status === 429 && Date.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await create();
      status = r.status;
      await r.arrayBuffer();
    }
    expect(status).toBe(204);
  });
});
