import { createDataverseClient } from '../../../shared/dataverse';
import {
  ChunkGate,
  chunkGateOf,
  maxTailRequests,
  readyChunks,
  tailParallelRequests,
} from '../../../shared/loads/chunkGate';
import { CountingTokenSource, startTestDataverse, VirtualClock } from '../dataverse/testDataverse';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ChunkGate', () => {
  test('never lets more than its capacity in; the rest enter in arrival order as others leave', async () => {
    const gate = new ChunkGate(() => 2);
    const order: number[] = [];
    const leaves: (() => void)[] = [];
    const entries = [0, 1, 2, 3, 4].map((i) =>
      gate.enter().then((leave) => {
        order.push(i);
        leaves[i] = leave;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(gate.active).toBe(2);
    expect(gate.waiting).toBe(3);
    leaves[1]!();
    leaves[1]!(); // leaving twice gives back one place only
    await tick();
    expect(order).toEqual([0, 1, 2]);
    expect(gate.active).toBe(2);
    leaves[0]!();
    leaves[2]!();
    await tick();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    leaves[3]!();
    leaves[4]!();
    await Promise.all(entries);
    expect(gate.active).toBe(0);
  });

  test('the capacity is read each time: a lower one holds newcomers until enough have left, never below one', async () => {
    let capacity = 3;
    const gate = new ChunkGate(() => capacity);
    const leaves = await Promise.all([gate.enter(), gate.enter(), gate.enter()]);
    capacity = 1;
    let entered = false;
    const late = gate.enter().then((leave) => {
      entered = true;
      return leave;
    });
    leaves[0]();
    leaves[1]();
    await tick();
    expect(entered).toBe(false); // 1 still inside, capacity 1
    leaves[2]();
    await tick();
    expect(entered).toBe(true);
    (await late)();
    capacity = 0;
    const leave = await gate.enter(); // a capacity under one still lets one chunk through
    leave();
  });

  test('one gate per client, sized by its concurrency limit plus the ready chunks', async () => {
    let limit = 4;
    const client = { metrics: () => ({ concurrency: { limit } }) } as never;
    const gate = chunkGateOf(client);
    expect(chunkGateOf(client)).toBe(gate);
    expect(chunkGateOf({ metrics: () => ({ concurrency: { limit: 1 } }) } as never)).not.toBe(gate);
    const inside = await Promise.all(Array.from({ length: limit + readyChunks }, () => gate.enter()));
    let more = false;
    void gate.enter().then((leave) => {
      more = true;
      leave();
    });
    await tick();
    expect(more).toBe(false);
    limit = 5; // the client grew: the next departure lets two in
    inside.pop()!();
    await tick();
    expect(more).toBe(true);
    inside.forEach((leave) => leave());
  });
});

describe('tailParallelRequests', () => {
  /** A real client that has had one answer per set of budget headers given (none: no headers), each with dop hint 4. */
  async function clientAfter(...answers: Record<string, string>[]) {
    const queue = answers.length > 0 ? [...answers] : [{}];
    const server = await startTestDataverse(() => ({
      status: 200,
      headers: { 'Content-Type': 'application/json', 'x-ms-dop-hint': '4', ...queue.shift() },
      body: '{}',
    }));
    const client = createDataverseClient({
      webApiUrl: server.webApiUrl,
      accessTokenSource: new CountingTokenSource(),
      clock: new VirtualClock(),
    });
    for (let i = 0; i < Math.max(1, answers.length); i++) await client.send({ method: 'GET', path: 'WhoAmI()' });
    return { client, server };
  }
  const full = {
    'x-ms-ratelimit-burst-remaining-xrm-requests': '6000',
    'x-ms-ratelimit-time-remaining-xrm-requests': '1200000',
  };
  const record = (chunkCount: number | undefined, chunksDone: number, scanComplete = true) => ({
    scanComplete,
    chunksDone,
    ...(chunkCount !== undefined ? { chunkCount } : {}),
  });

  test('split only at the tail: scan over and no more chunks left than two rounds of request slots', async () => {
    const { client, server } = await clientAfter(full);
    try {
      let reads = 0;
      const fresh = (r: ReturnType<typeof record>) => () => {
        reads++;
        return Promise.resolve(r);
      };
      // 4 slots: 8 chunks left is the tail, 9 is not.
      expect(await tailParallelRequests(record(100, 92), fresh(record(100, 92)), client)).toBe(maxTailRequests);
      expect(await tailParallelRequests(record(100, 91), fresh(record(100, 91)), client)).toBe(1);
      // Far from the end: not worth reading the record again.
      expect(await tailParallelRequests(record(100, 10), fresh(record(100, 99)), client)).toBe(1);
      expect(reads).toBe(1);
      // The message's record is old (scan not yet over when it was read); the fresh one says tail.
      expect(await tailParallelRequests(record(undefined, 0, false), fresh(record(20, 15)), client)).toBe(
        maxTailRequests,
      );
      expect(await tailParallelRequests(record(undefined, 0, false), fresh(record(undefined, 15, false)), client)).toBe(
        1,
      );
    } finally {
      await server.close();
    }
  });

  test('no split while the budget bounds the load (under half the window left) or Dataverse sent no budget headers', async () => {
    for (const answers of [[full, { ...full, 'x-ms-ratelimit-time-remaining-xrm-requests': '500000' }], []]) {
      const { client, server } = await clientAfter(...answers);
      try {
        expect(await tailParallelRequests(record(100, 99), () => Promise.resolve(record(100, 99)), client)).toBe(1);
      } finally {
        await server.close();
      }
    }
  });
});
