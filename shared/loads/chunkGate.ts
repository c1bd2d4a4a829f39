/**
 * How many chunks may hold their rows at once in this process. The host hands over more chunk messages than
 * Dataverse takes requests (host.json batchSize + newBatchThreshold against the client's concurrency), and a
 * chunk that read and converted its 1000 rows before a request slot was free would sit on them: the memory of
 * a process grew with the queue's batch size, not with what Dataverse can take. Chunks beyond the capacity wait
 * here before reading anything (holding only their small queue message); the capacity follows the client's
 * current concurrency limit plus a few ready-to-send chunks, so a freed request slot never waits for a read.
 */
import { spacingNeeded, type DataverseClient } from '../dataverse/index';
import type { LoadRecord } from './loadRecord';

/** Chunks read and converted ahead of a free request slot. */
export const readyChunks = 2;

export class ChunkGate {
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(private readonly capacity: () => number) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for room; the returned function gives it back (idempotent). */
  async enter(): Promise<() => void> {
    if (this.#active < Math.max(1, this.capacity()) && this.#waiters.length === 0) this.#active++;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#active--;
      this.#drain();
    };
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#active < Math.max(1, this.capacity())) {
      this.#active++;
      this.#waiters.shift()!();
    }
  }
}

const gates = new WeakMap<object, ChunkGate>();

/** The gate of a client (one per client: its concurrency is what the chunks share). */
export function chunkGateOf(client: Pick<DataverseClient, 'metrics'>): ChunkGate {
  let gate = gates.get(client);
  if (!gate) {
    gate = new ChunkGate(() => client.metrics().concurrency.limit + readyChunks);
    gates.set(client, gate);
  }
  return gate;
}

/** The most requests one chunk is split into at a load's tail. */
export const maxTailRequests = 4;

/**
 * How many requests a chunk goes out as. At a load's tail the last whole chunks would run on to the end while the
 * slots freed before them idle: slots free one by one (a request's duration ÷ slots apart) and nothing is left to
 * give them. So once a load's scan is over and no more chunks are left than two rounds of this process's request
 * slots (one in flight, one to start), each chunk still to start goes out as maxTailRequests smaller requests
 * (the bulk messages split its rows, bulkMessages.ts). Their parts queue for slots as they free, the work left
 * spreads over all of them, and the load ends about one small request after the slots run dry instead of one
 * whole chunk after. Before that, 1: whole chunks keep every slot busy, and smaller requests only cost more
 * per-request overhead. Also 1 while any identity has used half its window's execution-time budget (or Dataverse
 * sent no budget headers): the budget, not the slots, then bounds the load, and a lump of small requests sent at
 * once would only meet 429s (measured: two identities, budget-bound at their tail, 2 429s and 1.5 points lost).
 */
export async function tailParallelRequests(
  record: Pick<LoadRecord, 'scanComplete' | 'chunkCount' | 'chunksDone'>,
  /** The load's record afresh (the one read when the chunk's message came may be seconds old). */
  readRecord: () => Promise<Pick<LoadRecord, 'scanComplete' | 'chunkCount' | 'chunksDone'> | undefined>,
  client: Pick<DataverseClient, 'metrics'>,
): Promise<number> {
  const { concurrency, identities } = client.metrics();
  const slots = concurrency.limit;
  if (identities.some((identity) => identity.state === 'active' && spacingNeeded(identity.concurrency.budget)))
    return 1;
  const atTail = (r: typeof record | undefined) =>
    r !== undefined && r.scanComplete && r.chunkCount !== undefined && r.chunkCount - r.chunksDone <= 2 * slots;
  if (atTail(record)) return maxTailRequests;
  // Worth a read only when the last one leaves it open: scan over, and at most a few rounds left.
  if (record.chunkCount !== undefined && record.chunkCount - record.chunksDone > 4 * slots) return 1;
  return atTail(await readRecord()) ? maxTailRequests : 1;
}
