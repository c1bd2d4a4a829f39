/**
 * The singleton lock of a listener, as the Functions host takes it for every timer trigger (TimerListener carries
 * `[Singleton(Mode = SingletonMode.Listener)]`), so that of the instances sharing a host id only one runs the
 * timer. Mirrors the WebJobs SDK (Azure/azure-webjobs-sdk):
 * - lock blob `azure-webjobs-hosts/locks/{hostId}/{function full name}.Listener`, the full name of a script function
 *   being `Host.Functions.{name}` (SingletonManager.FormatLockId + SingletonListener; HostDirectoryNames.SingletonLocks);
 * - a blob lease of `singleton.listenerLockPeriod` (default 60 s), the blob created empty when missing, 409 = held
 *   elsewhere (BlobLeaseDistributedLockManager.TryAcquireLeaseAsync);
 * - renewed at half the period, sooner after a server error; a lost lease stops the listener and starts over
 *   (SingletonManager.CreateLeaseRenewalTimer, SingletonListener.OnLeaseConflictAsync);
 * - an instance that could not take it at start polls every `singleton.listenerLockRecoveryPollingInterval`
 *   (default 60 s) and starts the listener once it gets it, e.g. when the holder died and its lease expired
 *   (SingletonListener.StartAsync / TryAcquireLock);
 * - released on stop (SingletonListener.StopAsync), so a graceful restart hands over at once.
 */
import type { BlobLeaseClient, ContainerClient } from '@azure/storage-blob';
import type { HostLogger } from './hostLog';
import { statusOf } from './storageAccount';

export const listenerLockBlobName = (hostId: string, functionName: string) =>
  `locks/${hostId}/Host.Functions.${functionName}.Listener`;

/** What the lock starts and stops: the timer listener. */
export interface Listener {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ListenerLockOptions {
  /** The `azure-webjobs-hosts` container of the host storage account. */
  container: ContainerClient;
  blobName: string;
  /** Lease duration (15–60 s, the limits of Azure Storage). */
  leasePeriodMs: number;
  /** How often an instance without the lock tries to take it. */
  recoveryPollingMs: number;
  log: HostLogger;
  functionName: string;
}

const isServerError = (error: unknown) => (statusOf(error) ?? 500) >= 500;

/** Runs `inner` only while this instance holds the lock. */
export class SingletonListener implements Listener {
  readonly #inner: Listener;
  readonly #o: ListenerLockOptions;
  #lease?: BlobLeaseClient;
  #listening = false;
  #stopped = false;
  #timer?: NodeJS.Timeout;
  /** The attempt, renewal or stop in progress: they never overlap. */
  #work: Promise<void> = Promise.resolve();

  constructor(inner: Listener, options: ListenerLockOptions) {
    this.#inner = inner;
    this.#o = options;
  }

  /** True while this instance holds the lock and runs the listener. */
  get listening(): boolean {
    return this.#listening;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#serial(() => this.#tryStart());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#serial(async () => {
      if (this.#listening) await this.#inner.stop();
      this.#listening = false;
      await this.#release();
    });
  }

  #serial(step: () => Promise<void>): Promise<void> {
    this.#work = this.#work.then(step, step);
    return this.#work;
  }

  #schedule(ms: number, step: () => Promise<void>): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#serial(async () => {
        if (!this.#stopped) await step();
      }).catch((error: unknown) => this.#say('warning', `singleton lock: ${String(error)}`));
    }, ms);
  }

  async #tryStart(): Promise<void> {
    let lease: BlobLeaseClient | undefined;
    try {
      lease = await this.#acquire();
    } catch (error) {
      this.#say('warning', `could not try the singleton lock (${this.#o.blobName}): ${String(error)}`);
    }
    if (!lease) {
      this.#schedule(this.#o.recoveryPollingMs, () => this.#tryStart());
      return;
    }
    this.#lease = lease;
    this.#say('information', `Singleton lock acquired (${this.#o.blobName}): the listener starts on this instance`);
    await this.#inner.start();
    this.#listening = true;
    this.#schedule(this.#o.leasePeriodMs / 2, () => this.#renew());
  }

  async #acquire(): Promise<BlobLeaseClient | undefined> {
    const blob = this.#o.container.getBlockBlobClient(this.#o.blobName);
    const lease = blob.getBlobLeaseClient();
    const seconds = Math.round(this.#o.leasePeriodMs / 1000);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await lease.acquireLease(seconds);
        return lease;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409) return undefined; // another instance holds it
        if (status !== 404 || attempt > 0) throw error;
      }
      await this.#o.container.createIfNotExists();
      try {
        await blob.upload('', 0);
      } catch (error) {
        // 412: leased by someone else meanwhile (no lease id sent); the acquire below answers 409 then.
        if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      }
    }
    return undefined;
  }

  async #renew(): Promise<void> {
    try {
      await this.#lease!.renewLease();
      this.#schedule(this.#o.leasePeriodMs / 2, () => this.#renew());
    } catch (error) {
      if (isServerError(error)) {
        // Try again well before the lease runs out (the SDK speeds renewals up after a failure).
        this.#schedule(Math.min(1000, this.#o.leasePeriodMs / 4), () => this.#renew());
        return;
      }
      // The lease is gone (expired and taken, or broken): another instance runs the listener now.
      this.#say('warning', `Singleton lock lost (${this.#o.blobName}): the listener stops on this instance`);
      this.#lease = undefined;
      if (this.#listening) await this.#inner.stop();
      this.#listening = false;
      await this.#tryStart();
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease) return;
    try {
      await lease.releaseLease();
    } catch (error) {
      // 404/409: the blob is gone or another lease is active: nothing of ours to release.
      if (statusOf(error) !== 404 && statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
  }

  #say(level: 'information' | 'warning', message: string): void {
    this.#o.log({ level, category: 'host', functionName: this.#o.functionName, message });
  }
}
