import type { QueueClient } from '@azure/storage-queue';
import type { HostLogger } from './hostLog';
import { statusOf } from './storageAccount';

export interface ReceivedMessage {
  messageId: string;
  popReceipt: string;
  messageText: string;
  dequeueCount: number;
  insertedOn: Date;
  expiresOn: Date;
  nextVisibleOn: Date;
}

export interface QueuePumpOptions {
  queue: QueueClient;
  /** Undefined: no poison queue (name ends in `-poison`); failed messages are left invisible, as the host does. */
  poisonQueue?: QueueClient;
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  /** Delay before a failed message becomes visible again. */
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  /**
   * Says why a message cannot be handed to the function at all (e.g. not valid base64), or undefined. Such a message
   * goes to the poison queue at once, without an invocation: the extension's MessageDecodingFailed handler
   * (QueueServiceClientProvider.CreateMessageDecodingFailedHandler → QueueProcessor.HandlePoisonMessageAsync).
   */
  undecodable?(message: ReceivedMessage): string | undefined;
  /** Resolves on success, rejects on failure. */
  process(message: ReceivedMessage): Promise<void>;
  log: HostLogger;
  label: string;
}

/** The host's peek-lock lease: 10 minutes, renewed at half time while the function runs (QueueListener.cs). */
const leaseSeconds = 600;
const minPollingMs = 100;

/**
 * One queue listener (host `QueueListener` + `QueueProcessor`): fetches up to batchSize messages, runs them
 * concurrently, fetches again once in-flight ≤ newBatchThreshold, backs off exponentially with jitter when empty,
 * deletes on success, releases after visibilityTimeout on failure, and moves the body to the poison queue once
 * dequeueCount reaches maxDequeueCount.
 */
export class QueuePump {
  readonly #options: QueuePumpOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = false;
  #wake?: () => void;
  #loop?: Promise<void>;
  #emptyPolls = 0;
  #queueChecked = false;

  constructor(options: QueuePumpOptions) {
    this.#options = options;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Cuts the polling wait short (a message was just written to this queue). */
  notify(): void {
    this.#emptyPolls = 0;
    this.#wake?.();
  }

  /** Stops fetching; resolves when in-flight messages are done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #run(): Promise<void> {
    const o = this.#options;
    while (!this.#stopped) {
      let received: ReceivedMessage[] = [];
      try {
        if (!this.#queueChecked) {
          await o.queue.createIfNotExists();
          this.#queueChecked = true;
        }
        const response = await o.queue.receiveMessages({
          numberOfMessages: o.batchSize,
          visibilityTimeout: leaseSeconds,
        });
        received = response.receivedMessageItems.map((m) => ({
          messageId: m.messageId,
          popReceipt: m.popReceipt,
          messageText: m.messageText,
          dequeueCount: m.dequeueCount,
          insertedOn: m.insertedOn,
          expiresOn: m.expiresOn,
          nextVisibleOn: m.nextVisibleOn,
        }));
      } catch (error) {
        if (statusOf(error) === 404) this.#queueChecked = false;
        if (!this.#stopped)
          o.log({
            level: 'warning',
            category: 'host',
            message: `${o.label}: receive failed: ${(error as Error).message}`,
          });
      }
      if (this.#stopped) {
        // Fetched after stop was requested: hand them back at once.
        await Promise.allSettled(received.map((m) => o.queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
        break;
      }
      if (received.length === 0) {
        await this.#sleep(this.#backoffMs());
        continue;
      }
      this.#emptyPolls = 0;
      for (const message of received) {
        const work = this.#handle(message).finally(() => {
          this.#inFlight.delete(work);
          this.#wake?.();
        });
        this.#inFlight.add(work);
      }
      while (!this.#stopped && this.#inFlight.size > o.newBatchThreshold) await this.#sleep(60_000);
    }
  }

  #backoffMs(): number {
    // RandomizedExponentialBackoffStrategy: 100 ms + jittered 2^(n-1) × 100 ms, capped at maxPollingInterval.
    this.#emptyPolls++;
    const jitter = 0.8 + Math.random() * 0.4;
    return Math.min(
      this.#options.maxPollingIntervalMs,
      minPollingMs + jitter * 2 ** (this.#emptyPolls - 1) * minPollingMs,
    );
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #handle(message: ReceivedMessage): Promise<void> {
    const o = this.#options;
    const current = { popReceipt: message.popReceipt };
    const undecodable = o.undecodable?.(message);
    if (undecodable !== undefined) {
      // With no poison queue the message is left invisible for the rest of its lease, like a failure.
      if (o.poisonQueue)
        await this.#poison(message, current.popReceipt, undecodable).catch((error: Error) =>
          this.#warnIncomplete(message, error),
        );
      else
        o.log({
          level: 'warning',
          category: 'host',
          message: `${o.label}: message ${message.messageId}: ${undecodable}`,
        });
      return;
    }
    // Crash loops: a message seen more often than allowed goes to poison without another try.
    if (message.dequeueCount > o.maxDequeueCount && o.poisonQueue) {
      await this.#poison(message, current.popReceipt);
      return;
    }
    const renew = setInterval(
      () => {
        o.queue
          .updateMessage(message.messageId, current.popReceipt, undefined, leaseSeconds)
          .then((r) => (current.popReceipt = r.popReceipt ?? current.popReceipt))
          .catch(() => undefined);
      },
      (leaseSeconds * 1000) / 2,
    );
    renew.unref();
    let failed = false;
    try {
      await o.process(message);
    } catch {
      failed = true;
    } finally {
      clearInterval(renew);
    }
    try {
      if (!failed) {
        await o.queue.deleteMessage(message.messageId, current.popReceipt);
      } else if (!o.poisonQueue) {
        // No poison queue: leave the message invisible for the rest of its lease to avoid a hot loop.
      } else if (message.dequeueCount >= o.maxDequeueCount) {
        await this.#poison(message, current.popReceipt);
      } else {
        await o.queue.updateMessage(
          message.messageId,
          current.popReceipt,
          undefined,
          Math.ceil(o.visibilityTimeoutMs / 1000),
        );
      }
    } catch (error) {
      this.#warnIncomplete(message, error as Error);
    }
  }

  #warnIncomplete(message: ReceivedMessage, error: Error): void {
    const o = this.#options;
    o.log({
      level: 'warning',
      category: 'host',
      message: `${o.label}: could not complete message ${message.messageId}: ${error.message}`,
    });
  }

  async #poison(message: ReceivedMessage, popReceipt: string, reason?: string): Promise<void> {
    const o = this.#options;
    const poison = o.poisonQueue!;
    o.log({
      level: 'warning',
      category: 'host',
      message: reason
        ? `${o.label}: message ${message.messageId} (dequeue count ${message.dequeueCount}): ${reason} Moving message to queue '${poison.name}' without invoking the function.`
        : `${o.label}: message ${message.messageId} has reached MaxDequeueCount of ${o.maxDequeueCount}. Moving message to queue '${poison.name}'.`,
    });
    await poison.createIfNotExists();
    // Only the body moves, as it was on the wire (not re-encoded): Azure Storage gives the copy a new id and the
    // default time-to-live (QueueProcessor.CopyMessageToPoisonQueueAsync); the original id is in the log line above.
    await poison.sendMessage(message.messageText);
    await o.queue.deleteMessage(message.messageId, popReceipt);
  }
}

/** `<queue>-poison`, unless the name already ends in `-poison` or would exceed 63 characters (QueueListenerFactory). */
export function poisonQueueName(queueName: string): string | undefined {
  if (queueName.endsWith('-poison')) return undefined;
  const name = `${queueName}-poison`;
  return name.length > 63 ? undefined : name;
}
