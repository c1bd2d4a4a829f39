/**
 * How many chunks may hold their rows at once in this process. The host hands over more chunk messages than
 * Dataverse takes requests (host.json batchSize + newBatchThreshold against the client's concurrency), and a
 * chunk that read and converted its 1000 rows before a request slot was free would sit on them: the memory of
 * a process grew with the queue's batch size, not with what Dataverse can take. Chunks beyond the capacity wait
 * here before reading anything (holding only their small queue message); the capacity follows the client's
 * current concurrency limit plus a few ready-to-send chunks, so a freed request slot never waits for a read.
 */
import type { DataverseClient } from '../dataverse/index';

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
