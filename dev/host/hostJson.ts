import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** `hh:mm:ss` or `d.hh:mm:ss` (the .NET TimeSpan format host.json uses) → milliseconds. */
export function parseTimeSpan(value: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!match) throw new RangeError(`Not a TimeSpan (hh:mm:ss): '${value}'`);
  const [, days, hours, minutes, seconds, fraction] = match;
  const ms = fraction ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
  return ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + ms;
}

const timeSpan = z.string().transform((s, ctx) => {
  try {
    return parseTimeSpan(s);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** A lease period: Azure Storage leases last 15 to 60 seconds (the SDK's SingletonOptions checks the same). */
const leasePeriod = timeSpan.refine((ms) => ms >= 15_000 && ms <= 60_000, {
  message: 'a lease period is between 00:00:15 and 00:01:00',
});

const hostJsonSchema = z.looseObject({
  version: z.string().optional(),
  id: z.string().optional(),
  functionTimeout: timeSpan.optional(),
  singleton: z
    .looseObject({
      listenerLockPeriod: leasePeriod.optional(),
      listenerLockRecoveryPollingInterval: timeSpan
        .refine((ms) => ms >= 15_000, { message: 'listenerLockRecoveryPollingInterval is at least 00:00:15' })
        .optional(),
    })
    .optional(),
  extensions: z
    .looseObject({
      http: z.looseObject({ routePrefix: z.string().optional() }).optional(),
      queues: z
        .looseObject({
          batchSize: z.number().int().min(1).max(32).optional(),
          newBatchThreshold: z.number().int().min(0).optional(),
          maxPollingInterval: timeSpan.optional(),
          visibilityTimeout: timeSpan.optional(),
          maxDequeueCount: z.number().int().min(1).optional(),
          messageEncoding: z.enum(['base64', 'none']).optional(),
        })
        .optional(),
      blobs: z
        .looseObject({
          maxDegreeOfParallelism: z.number().int().min(1).optional(),
          poisonBlobThreshold: z.number().int().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
});

export type HostJson = z.input<typeof hostJsonSchema>;

/** The host settings the local host acts on, with the real host's defaults filled in. */
export interface HostConfig {
  id?: string;
  functionTimeoutMs?: number;
  routePrefix: string;
  queues: {
    batchSize: number;
    newBatchThreshold: number;
    maxPollingIntervalMs: number;
    visibilityTimeoutMs: number;
    maxDequeueCount: number;
    messageEncoding: 'base64' | 'none';
  };
  blobs: { maxDegreeOfParallelism: number; poisonBlobThreshold: number };
  /** Listener singleton locks (timers): lease period and how often an instance without the lock polls for it. */
  singleton: { listenerLockPeriodMs: number; listenerLockRecoveryPollingIntervalMs: number };
}

/** Applies the documented defaults (local development values: maxPollingInterval 2 s). */
export function toHostConfig(json: unknown, processorCount = 1): HostConfig {
  const parsed = hostJsonSchema.parse(json ?? {});
  const q = parsed.extensions?.queues ?? {};
  const b = parsed.extensions?.blobs ?? {};
  const batchSize = q.batchSize ?? 16;
  return {
    id: parsed.id,
    functionTimeoutMs: parsed.functionTimeout,
    routePrefix: (parsed.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
    queues: {
      batchSize,
      newBatchThreshold: q.newBatchThreshold ?? Math.floor(batchSize / 2) * processorCount,
      maxPollingIntervalMs: Math.max(100, q.maxPollingInterval ?? 2000),
      visibilityTimeoutMs: q.visibilityTimeout ?? 0,
      maxDequeueCount: q.maxDequeueCount ?? 5,
      messageEncoding: q.messageEncoding ?? 'base64',
    },
    blobs: {
      maxDegreeOfParallelism: b.maxDegreeOfParallelism ?? 8 * processorCount,
      poisonBlobThreshold: b.poisonBlobThreshold ?? 5,
    },
    // SingletonOptions defaults: a 60 s listener lease, polled for every minute by the instances without it.
    singleton: {
      listenerLockPeriodMs: parsed.singleton?.listenerLockPeriod ?? 60_000,
      listenerLockRecoveryPollingIntervalMs: parsed.singleton?.listenerLockRecoveryPollingInterval ?? 60_000,
    },
  };
}

/** Reads `<appDir>/host.json` (absent → defaults) and deep-merges an override object over it (tests shorten timeouts this way). */
export function readHostJson(appDir: string, override?: HostJson): unknown {
  const file = join(appDir, 'host.json');
  const base: Record<string, unknown> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {};
  return override ? deepMerge(base, override) : base;
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const prev = out[key];
    out[key] =
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}
