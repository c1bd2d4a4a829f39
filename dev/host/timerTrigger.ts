import { z } from 'zod';
import type { RegisteredFunction } from './coreApi';
import { invoke } from './invocation';
import { firesMoreThanOncePerMinute, parseSchedule, type TimerSchedule } from './ncrontab';
import { applyOutputs } from './outputs';
import type { TriggerDeps } from './queueTrigger';
import { dotnetDate, resolveBindingExpression, rpcJson, rpcString } from './rpcData';
import { statusOf, storageAccountFor } from './storageAccount';
import { hostsContainer } from './blobTrigger';

const scheduleStatus = z.object({ Last: z.string(), Next: z.string(), LastUpdated: z.string() });
type ScheduleStatus = z.infer<typeof scheduleStatus>;

export const timerStatusPath = (hostId: string, functionName: string) =>
  `timers/${hostId}/Host.Functions.${functionName}/status`;

/**
 * One timer (TimerListener.cs): invocations never overlap (the next occurrence is computed after the previous run
 * ends), `runOnStartup` fires once at start, and with the monitor on (`useMonitor`, off for sub-minute schedules)
 * the status blob `{Last, Next, LastUpdated}` is kept in azure-webjobs-hosts so a restart after a missed occurrence
 * runs once with `isPastDue: true`.
 */
export class TimerTrigger {
  readonly #deps: TriggerDeps;
  readonly #fn: RegisteredFunction;
  readonly #bindingName: string;
  readonly #schedule: TimerSchedule;
  readonly #runOnStartup: boolean;
  readonly #useMonitor: boolean;
  readonly #hostId: string;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #stopped = false;
  #status: ScheduleStatus | null = null;

  constructor(deps: TriggerDeps, fn: RegisteredFunction, bindingName: string, hostId: string) {
    const binding = fn.metadata.bindings[bindingName]!;
    this.#deps = deps;
    this.#fn = fn;
    this.#bindingName = bindingName;
    this.#hostId = hostId;
    this.#schedule = parseSchedule(resolveBindingExpression(String(binding.schedule), {}));
    this.#runOnStartup = binding.runOnStartup === true;
    this.#useMonitor = binding.useMonitor !== false && !firesMoreThanOncePerMinute(this.#schedule);
  }

  get schedule(): string {
    return this.#schedule.expression;
  }

  /** Starts (again, after a stop: the singleton lock stops and restarts it as the lock comes and goes). */
  async start(): Promise<void> {
    this.#stopped = false;
    let pastDue = false;
    if (this.#useMonitor) {
      this.#status = await this.#readStatus();
      pastDue = this.#status !== null && Date.parse(this.#status.Next) < Date.now();
    }
    if (pastDue) this.#fire(true, 'Timer is past due');
    else if (this.#runOnStartup) this.#fire(false, 'Timer fired on startup (runOnStartup)');
    else this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#schedule.next(new Date());
    this.#deps.log({
      level: 'debug',
      category: 'host',
      message: `Functions.${this.#fn.metadata.name}: next occurrence ${next.toISOString()}`,
    });
    const wait = () => {
      const remaining = next.getTime() - Date.now();
      // setTimeout fires at most 2^31-1 ms ahead, and may fire a little early: re-arm until the occurrence is reached.
      if (remaining > 0) this.#timer = setTimeout(wait, Math.min(remaining, 2 ** 31 - 1));
      else this.#fire(false, `Timer fired at ${new Date().toISOString()}`);
    };
    wait();
  }

  #fire(isPastDue: boolean, reason: string): void {
    if (this.#stopped) return;
    this.#running = this.#invoke(isPastDue, reason)
      .catch(() => undefined) // a failed run waits for the next occurrence (no retry without a retry policy)
      .finally(() => {
        this.#running = undefined;
        this.#arm();
      });
  }

  async #invoke(isPastDue: boolean, reason: string): Promise<void> {
    const now = new Date();
    const timerInfo = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: this.#useMonitor
        ? (this.#status ?? {
            Last: dotnetDate(new Date(0)),
            Next: dotnetDate(this.#schedule.next(now)),
            LastUpdated: dotnetDate(now),
          })
        : null,
      IsPastDue: isPastDue,
    };
    try {
      const response = await invoke(this.#deps, this.#fn, {
        inputData: [{ name: this.#bindingName, data: rpcJson(timerInfo) }],
        triggerMetadata: { TimerTrigger: rpcString(dotnetDate(now)) },
        reason,
      });
      await applyOutputs(this.#fn, response, {
        messageEncoding: this.#deps.config.queues.messageEncoding,
        bindingData: {},
        notifyQueue: (name) => this.#deps.notifyQueue(name),
      });
    } finally {
      if (this.#useMonitor) await this.#writeStatus(now).catch(() => undefined);
    }
  }

  #statusBlob() {
    return storageAccountFor(undefined)
      .blobService.getContainerClient(hostsContainer)
      .getBlockBlobClient(timerStatusPath(this.#hostId, this.#fn.metadata.name));
  }

  async #readStatus(): Promise<ScheduleStatus | null> {
    try {
      const buffer = await this.#statusBlob().downloadToBuffer();
      return scheduleStatus.parse(JSON.parse(buffer.toString('utf8')));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      this.#deps.log({
        level: 'warning',
        category: 'host',
        message: `Functions.${this.#fn.metadata.name}: unreadable timer status: ${(error as Error).message}`,
      });
      return null;
    }
  }

  async #writeStatus(last: Date): Promise<void> {
    const status: ScheduleStatus = {
      Last: dotnetDate(last),
      Next: dotnetDate(this.#schedule.next(new Date())),
      LastUpdated: dotnetDate(new Date()),
    };
    this.#status = status;
    const blob = this.#statusBlob();
    await storageAccountFor(undefined).blobService.getContainerClient(hostsContainer).createIfNotExists();
    const body = JSON.stringify(status);
    await blob.upload(body, Buffer.byteLength(body));
  }
}
