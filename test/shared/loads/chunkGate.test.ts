import { ChunkGate, chunkGateOf, readyChunks } from '../../../shared/loads/chunkGate';

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
