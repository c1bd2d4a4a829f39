/**
 * Job events: one JSON message per finished load or background job, on the `job-events` queue and
 * optionally POSTed to a webhook, so a pipeline can chain its next step. Delivery is at least once (see
 * eventOutbox.ts): every event carries a stable `eventId` (the load/job id and its outcome), so a consumer
 * that remembers the eventIds it handled sees each end exactly once.
 */
import { z } from 'zod';
import type { QueueClient } from '@azure/storage-queue';

/** 'Unknown' is the kind of a rejected message whose own kind was not one we run. */
export const jobEventKinds = [
  'load',
  'plan',
  'ImportSolution',
  'StageAndUpgrade',
  'DeleteAndPromote',
  'Merge',
  'Batch',
  'Release',
  'Unknown',
] as const;
export const jobOutcomes = ['succeeded', 'partiallySucceeded', 'failed', 'canceled', 'timedOut', 'rejected'] as const;

export const jobEventSchema = z.object({
  /** Stable across redeliveries of the same end: `<id>:<outcome>`; consumers dedupe on it. */
  eventId: z.string().min(1),
  id: z.string().min(1),
  kind: z.enum(jobEventKinds),
  outcome: z.enum(jobOutcomes),
  /** The AsyncOperation statuscode (30/31/32) when Dataverse gave one. */
  statusCode: z.number().int().optional(),
  /** Row counts of a load, or operation counts of a batch. */
  counts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  message: z.string().optional(),
  /** A solution import's decision (skip, install, update, upgrade, holding) and why. */
  decision: z.object({ action: z.string().min(1), reason: z.string() }).optional(),
  links: z.object({ status: z.string().min(1), failedRows: z.string().optional() }),
  finishedAt: z.iso.datetime(),
});
export type JobEvent = z.infer<typeof jobEventSchema>;
export type JobEventKind = JobEvent['kind'];
export type JobOutcome = JobEvent['outcome'];
/** An event as its producer builds it: the eventId follows from id and outcome when not given. */
export type JobEventInput = Omit<JobEvent, 'eventId'> & { eventId?: string };

/** The one id of the end of a load or job: a load or job ends once, with one outcome. */
export const eventIdOf = (id: string, outcome: JobOutcome): string => `${id}:${outcome}`;

/** The event with its eventId, validated (throws a ZodError naming the bad field). */
export function completeJobEvent(event: JobEventInput): JobEvent {
  return jobEventSchema.parse({ ...event, eventId: event.eventId ?? eventIdOf(event.id, event.outcome) });
}

export type WebhookDelivery = 'skipped' | 'delivered' | 'failed';

export interface JobEventPublisher {
  /**
   * Validates the event, sends it to the queue (an error there is thrown: the caller's transition
   * must know), then POSTs it to the webhook if one is set (failures there are retried and reported,
   * never thrown).
   */
  publish(
    event: JobEventInput,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ queued: true; webhook: WebhookDelivery; webhookError?: string }>;
}

export interface JobEventPublisherOptions {
  queueClient: QueueClient;
  webhookUrl?: string;
  fetch?: typeof globalThis.fetch;
  /** Webhook attempts in all (default 3). */
  webhookAttempts?: number;
  /** Delay before the 2nd attempt, doubled each time (default 500 ms). */
  webhookRetryDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  webhookTimeoutMs?: number;
}

/**
 * Queue text is base64 of the UTF-8 JSON, the encoding a Functions queue trigger expects by default
 * (`messageEncoding: base64`), so another function app can consume `job-events` directly.
 */
export function encodeQueueMessage(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/** Reads a queue message written as base64 JSON or as plain JSON. */
export function decodeQueueMessage(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return JSON.parse(trimmed);
  return JSON.parse(Buffer.from(trimmed, 'base64').toString('utf8'));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export function createJobEventPublisher(options: JobEventPublisherOptions): JobEventPublisher {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const attempts = Math.max(1, options.webhookAttempts ?? 3);
  const baseDelay = options.webhookRetryDelayMs ?? 500;
  const timeoutMs = options.webhookTimeoutMs ?? 10_000;

  async function postWebhook(
    url: string,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ webhook: WebhookDelivery; webhookError?: string }> {
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal?.aborted) break;
      try {
        const attemptSignal = signal
          ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs);
        const response = await fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: attemptSignal,
        });
        // Drain the body so the connection is released.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return { webhook: 'delivered' };
        lastError = `HTTP ${response.status}`;
        // A 4xx other than 408/429 will not get better by retrying.
        if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (attempt < attempts) await sleep(baseDelay * 2 ** (attempt - 1), signal);
    }
    return { webhook: 'failed', webhookError: lastError };
  }

  return {
    async publish(event, callOptions) {
      const valid = completeJobEvent(event);
      await options.queueClient.sendMessage(encodeQueueMessage(valid), { abortSignal: callOptions?.abortSignal });
      if (!options.webhookUrl) return { queued: true, webhook: 'skipped' };
      return {
        queued: true,
        ...(await postWebhook(options.webhookUrl, JSON.stringify(valid), callOptions?.abortSignal)),
      };
    },
  };
}
