/**
 * Transactional outbox for end events. The final transition of a load or a job writes, in the same ETag-guarded
 * write, the event to publish (a `PendingEvent`, JSON) and `eventPublished: false`; the writer then publishes it and
 * marks it published (ETag-guarded again). A crash between any two steps leaves the pending event on the record, and
 * a sweep publishes it once its last attempt is older than a grace period, after claiming it with an ETag-guarded
 * write so that two sweepers don't both send it.
 *
 * Delivery is therefore at least once, and exactly once unless a process dies between the send and the mark; a
 * repeat carries the same `eventId`, so a consumer can drop it.
 */
import { z } from 'zod';
import { completeJobEvent, jobEventSchema, type JobEventInput, type JobEventPublisher } from './jobEvents';

/** How long a pending event is left to the writer that recorded (or last claimed) it before a sweep takes over. */
export const DEFAULT_EVENT_GRACE_MS = 10_000;

export const pendingEventSchema = z.object({
  event: jobEventSchema,
  /** When the final transition recorded the event. */
  recordedAt: z.iso.datetime(),
  /** When a writer or sweeper last took it on; a sweep waits for the grace period after this. */
  attemptAt: z.iso.datetime(),
  attempts: z.number().int().nonnegative(),
});
export type PendingEvent = z.infer<typeof pendingEventSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

/** The JSON stored with the final state: the validated event (eventId included), first attempt now. */
export function recordPendingEvent(event: JobEventInput, nowMs: number): string {
  const at = iso(nowMs);
  const pending: PendingEvent = { event: completeJobEvent(event), recordedAt: at, attemptAt: at, attempts: 1 };
  return JSON.stringify(pending);
}

/** The stored pending event, or undefined when there is none or it can't be read (the caller rebuilds it). */
export function readPendingEvent(json: string | undefined): PendingEvent | undefined {
  if (!json) return undefined;
  try {
    const parsed = pendingEventSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a sweep may take the event on: its last attempt is at least `graceMs` old. */
export function isPendingEventDue(pending: Pick<PendingEvent, 'attemptAt'>, nowMs: number, graceMs: number): boolean {
  const at = Date.parse(pending.attemptAt);
  return !Number.isFinite(at) || nowMs - at >= graceMs;
}

/** The JSON a sweeper writes (ETag-guarded) to claim the event before sending it. */
export function claimPendingEvent(pending: PendingEvent, nowMs: number): string {
  return JSON.stringify({ ...pending, attemptAt: iso(nowMs), attempts: pending.attempts + 1 } satisfies PendingEvent);
}

export type OutboxSweepOutcome = 'published' | 'notDue' | 'claimedElsewhere';

export interface OutboxEntry {
  /** The pending event as stored (undefined: rebuild it with `rebuild`). */
  pending: PendingEvent | undefined;
  /** The event from the record itself, for records whose pending JSON is missing or unreadable. */
  rebuild: () => JobEventInput;
  /** ETag-guarded write of the claim JSON; false when the record changed meanwhile (someone else has it). */
  claim: (json: string) => Promise<boolean>;
  /** ETag-guarded `eventPublished: true`. */
  markPublished: () => Promise<void>;
}

/** Publishes, then marks published. The mark is after the send: a crash between the two repeats the event. */
export async function deliverPendingEvent(
  publisher: JobEventPublisher,
  event: JobEventInput,
  markPublished: () => Promise<void>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  await publisher.publish(event, options);
  await markPublished();
}

/** A sweeper's turn at one unpublished event: claim it if due, then deliver it. */
export async function sweepPendingEvent(
  publisher: JobEventPublisher,
  entry: OutboxEntry,
  options: { nowMs: number; graceMs?: number; abortSignal?: AbortSignal },
): Promise<OutboxSweepOutcome> {
  const now = options.nowMs;
  const pending = entry.pending ?? {
    event: completeJobEvent(entry.rebuild()),
    recordedAt: iso(now),
    attemptAt: iso(0),
    attempts: 0,
  };
  if (!isPendingEventDue(pending, now, options.graceMs ?? DEFAULT_EVENT_GRACE_MS)) return 'notDue';
  if (!(await entry.claim(claimPendingEvent(pending, now)))) return 'claimedElsewhere';
  await deliverPendingEvent(
    publisher,
    pending.event,
    entry.markPublished,
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
  return 'published';
}
