/**
 * The daily request meter of one Dataverse environment (issue 17). The tenant's Power Platform request entitlement
 * is one pool per 24 hours that extra application users do not multiply, so every instance counts what it sends
 * the way Dataverse counts it (each operation of a `$batch`, each target of CreateMultiple/UpsertMultiple: see
 * docs/design.md "Daily request meter") into 5-minute buckets of one Table, ETag-guarded like the rest of the
 * app's state; the rolling 24 h sum is what the budget (DATAVERSE_DAILY_REQUEST_BUDGET) is held against.
 * Counts are added locally and flushed every couple of seconds, so the meter costs a Table write per instance per
 * flush, not per request; the sum is read at most every `refreshMs`.
 */
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { encodeQueueMessage } from '../events/jobEvents';

export const bucketMs = 5 * 60_000;
export const windowMs = 24 * 60 * 60_000;
/** Share of the budget at which the warning event goes out. */
export const warningShare = 0.8;

export type BudgetLevel = 'ok' | 'warning' | 'exhausted';

export interface RequestBudgetState {
  /** Requests counted in the last 24 hours (all instances, plus this one's not yet flushed). */
  used: number;
  budget?: number;
  level: BudgetLevel;
}

/** What the load engine needs: the state, and a wait that returns once new requests may be sent. */
export interface RequestBudget {
  state(): Promise<RequestBudgetState>;
  /** Resolves when the budget has room (at once without a budget); false when `maxWaitMs` passed first. */
  waitForRoom(options?: { maxWaitMs?: number; abortSignal?: AbortSignal }): Promise<boolean>;
}

export interface RequestMeter extends RequestBudget {
  /** Counts operations Dataverse executed (the Dataverse client's onOperationsCounted). */
  record(operations: number): void;
  /** Writes the local count to the Table now (tests; the meter flushes on its own every flushMs). */
  flush(): Promise<void>;
}

export const requestBudgetEventSchema = z.object({
  eventId: z.string().min(1),
  kind: z.literal('requestBudget'),
  level: z.enum(['warning', 'exhausted']),
  environment: z.string().min(1),
  used: z.number().int().nonnegative(),
  budget: z.number().int().positive(),
  at: z.iso.datetime(),
});
export type RequestBudgetEvent = z.infer<typeof requestBudgetEventSchema>;

export interface RequestMeterOptions {
  table: TableClient;
  /** The environment URL; one partition per environment. */
  environment: string;
  budget?: number;
  /** The job-events queue: the 80 % warning and the 100 % event go there, once per 24 h across instances. */
  events?: { sendMessage(text: string): Promise<unknown> };
  log?: {
    info(message: string, data?: Record<string, unknown>): void;
    warn(message: string, data?: Record<string, unknown>): void;
  };
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  flushMs?: number;
  refreshMs?: number;
  /** How often a waiting chunk looks again. */
  pollMs?: number;
}

export const bucketRowKey = (at: number) => `b-${String(Math.floor(at / bucketMs) * bucketMs).padStart(15, '0')}`;
const bucketEntity = z.object({ partitionKey: z.string(), rowKey: z.string(), requests: z.number() });
const noticeEntity = z.object({ notifiedAt: z.number().optional() });

/** Table keys may not hold / \\ # ? (an environment URL holds only printable characters). */
export const partitionOf = (environment: string) => environment.replace(/[/\\#?]/g, '_');

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export function createRequestMeter(o: RequestMeterOptions): RequestMeter {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const partitionKey = partitionOf(o.environment);
  const refreshMs = o.refreshMs ?? 2000;
  let pending = 0;
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let cached: { at: number; used: number } | undefined;
  let tableReady: Promise<void> | undefined;

  const ensureTable = () =>
    (tableReady ??= o.table.createTable().then(
      () => undefined,
      (error: unknown) => {
        tableReady = undefined;
        throw error;
      },
    ));

  /** Adds `count` to the bucket of now: read, then an ETag-guarded write; a lost race reads again. */
  const addToBucket = async (count: number) => {
    await ensureTable();
    const rowKey = bucketRowKey(now());
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const current = await o.table.getEntity(partitionKey, rowKey);
        const parsed = bucketEntity.parse(current);
        await o.table.updateEntity({ ...parsed, requests: parsed.requests + count }, 'Merge', {
          etag: current.etag,
        });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) {
          try {
            await o.table.createEntity({ partitionKey, rowKey, requests: count });
            return;
          } catch (created) {
            if (statusOf(created) !== 409) throw created;
          }
        } else if (status !== 412) throw error;
      }
    }
    throw new Error('request meter: the bucket kept changing under 20 attempts');
  };

  const flush = async (): Promise<void> => {
    if (flushing) return flushing;
    const count = pending;
    if (count === 0) return;
    pending = 0;
    flushing = addToBucket(count)
      .catch((error: unknown) => {
        pending += count; // kept for the next flush: nothing counted is lost
        o.log?.warn('Daily request meter: could not write the count; kept for the next flush', {
          error: String(error),
        });
      })
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  };

  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, o.flushMs ?? 2000);
    timer.unref();
  };

  const readUsed = async (): Promise<number> => {
    const t = now();
    if (cached && t - cached.at < refreshMs) return cached.used + pending;
    await ensureTable();
    const since = bucketRowKey(t - windowMs + bucketMs);
    let used = 0;
    const entities = o.table.listEntities({
      queryOptions: {
        filter: `PartitionKey eq '${partitionKey.replace(/'/g, "''")}' and RowKey ge '${since}' and RowKey lt 'b-~'`,
      },
    });
    for await (const entity of entities) used += bucketEntity.parse(entity).requests;
    cached = { at: t, used };
    return used + pending;
  };

  /** One event per level per 24 h across instances: the notice entity's ETag decides which instance sends it. */
  const notify = async (level: 'warning' | 'exhausted', used: number, budget: number) => {
    const rowKey = `notice-${level}`;
    const t = now();
    try {
      let etag: string | undefined;
      try {
        const entity = await o.table.getEntity(partitionKey, rowKey);
        const notifiedAt = noticeEntity.parse(entity).notifiedAt ?? 0;
        if (t - notifiedAt < windowMs) return;
        etag = entity.etag;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      if (etag) await o.table.updateEntity({ partitionKey, rowKey, notifiedAt: t }, 'Replace', { etag });
      else await o.table.createEntity({ partitionKey, rowKey, notifiedAt: t });
    } catch (error) {
      if (statusOf(error) === 409 || statusOf(error) === 412) return; // another instance sent it
      throw error;
    }
    const event: RequestBudgetEvent = requestBudgetEventSchema.parse({
      eventId: `requestBudget:${partitionKey}:${level}:${new Date(t).toISOString()}`,
      kind: 'requestBudget',
      level,
      environment: o.environment,
      used,
      budget,
      at: new Date(t).toISOString(),
    });
    o.log?.warn(
      level === 'warning'
        ? `Daily request budget: ${used} of ${budget} requests in the last 24 h (80 % reached)`
        : `Daily request budget: ${used} of ${budget} requests in the last 24 h; new chunks wait`,
      { environment: o.environment, used, budget },
    );
    await o.events?.sendMessage(encodeQueueMessage(event));
  };

  const state = async (): Promise<RequestBudgetState> => {
    const used = await readUsed();
    const budget = o.budget;
    if (budget === undefined) return { used, level: 'ok' };
    const level: BudgetLevel = used >= budget ? 'exhausted' : used >= warningShare * budget ? 'warning' : 'ok';
    if (level !== 'ok') {
      await notify('warning', used, budget).catch((error: unknown) =>
        o.log?.warn('Daily request meter: could not send the budget event', { error: String(error) }),
      );
      if (level === 'exhausted')
        await notify('exhausted', used, budget).catch((error: unknown) =>
          o.log?.warn('Daily request meter: could not send the budget event', { error: String(error) }),
        );
    }
    return { used, budget, level };
  };

  return {
    record(operations) {
      if (!(operations > 0)) return;
      pending += operations;
      schedule();
    },
    flush,
    state,
    async waitForRoom(options = {}) {
      if (o.budget === undefined) return true;
      const deadline = now() + (options.maxWaitMs ?? Number.POSITIVE_INFINITY);
      for (;;) {
        if ((await state()).level !== 'exhausted') return true;
        if (options.abortSignal?.aborted || now() >= deadline) return false;
        await sleep(Math.min(o.pollMs ?? 5000, Math.max(0, deadline - now())), options.abortSignal);
      }
    },
  };
}
