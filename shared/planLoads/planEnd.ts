/**
 * The end of a plan, done once, as a load's end (loads/loadEnd.ts): claim the end with the record's ETag, move the
 * plan file to `processed/` or `failed/`, then set the final status and, in that same ETag-guarded write, the
 * end event to publish (transactional outbox); publish it and mark it published. The sweep redoes any step a
 * crash interrupted, and publishes an event a crash left pending.
 */
import {
  DEFAULT_EVENT_GRACE_MS,
  deliverPendingEvent,
  readPendingEvent,
  recordPendingEvent,
  sweepPendingEvent,
  type OutboxSweepOutcome,
} from '../events/eventOutbox';
import type { JobEventInput } from '../events/jobEvents';
import { isoAt } from '../loads/loadContext';
import type { PlanContext } from './planContext';
import { isPlanTerminal, planStatusUrlOf, type PlanPatch, type PlanRecord } from './planRecord';

/** The end event of a finished plan, from its final record. */
export function planEndEvent(plan: PlanRecord): JobEventInput {
  return {
    id: plan.id,
    kind: 'plan',
    outcome: plan.status as 'succeeded' | 'partiallySucceeded' | 'failed',
    ...(plan.counts ? { counts: plan.counts } : {}),
    ...(plan.message ? { message: plan.message } : {}),
    links: { status: planStatusUrlOf(plan.id) },
    finishedAt: plan.finishedAt ?? plan.updatedAt,
  };
}

function withPendingEvent(ctx: PlanContext, current: PlanRecord, patch: PlanPatch): PlanPatch {
  return {
    ...patch,
    eventPublished: false,
    pendingEventJson: recordPendingEvent(planEndEvent({ ...current, ...patch }), ctx.loads.now()),
  };
}

const markPublished = (ctx: PlanContext, planId: string) => async () => {
  await ctx.store.mutate(planId, (p) => (p.eventPublished ? undefined : { eventPublished: true }));
};

/** Publishes a finished plan's event (the job index first); a failure is left to the sweep. */
export async function announcePlan(ctx: PlanContext, plan: PlanRecord): Promise<void> {
  if (plan.eventPublished || !isPlanTerminal(plan)) return;
  try {
    await ctx.loads.index.updateJobState(plan.id, plan.status, { at: plan.finishedAt ?? isoAt(ctx.loads.now()) });
    const event = readPendingEvent(plan.pendingEventJson)?.event ?? planEndEvent(plan);
    await deliverPendingEvent(ctx.loads.events, event, markPublished(ctx, plan.id));
  } catch (error) {
    ctx.loads.log?.warn('Plan event not published yet; the sweep will publish it', {
      planId: plan.id,
      error: String(error),
    });
  }
}

/** The sweep's turn at a finished plan whose event is still pending (ETag-claimed, so one sweeper sends it). */
export async function publishPendingPlanEvent(ctx: PlanContext, plan: PlanRecord): Promise<OutboxSweepOutcome> {
  if (plan.eventPublished || !isPlanTerminal(plan)) return 'claimedElsewhere';
  const graceMs = Math.min(ctx.loads.stallMs, DEFAULT_EVENT_GRACE_MS);
  const pending = readPendingEvent(plan.pendingEventJson);
  const due = pending ?? { attemptAt: plan.finishedAt ?? plan.updatedAt };
  if (ctx.loads.now() - Date.parse(due.attemptAt) < graceMs) return 'notDue';
  await ctx.loads.index.updateJobState(plan.id, plan.status, { at: plan.finishedAt ?? isoAt(ctx.loads.now()) });
  return sweepPendingEvent(
    ctx.loads.events,
    {
      pending,
      rebuild: () => planEndEvent(plan),
      claim: async (json) =>
        (
          await ctx.store.mutate(plan.id, (p) =>
            !p.eventPublished && (p.pendingEventJson ?? '') === (plan.pendingEventJson ?? '')
              ? { pendingEventJson: json }
              : undefined,
          )
        ).changed,
      markPublished: markPublished(ctx, plan.id),
    },
    { nowMs: ctx.loads.now(), graceMs },
  );
}

async function movePlanFile(ctx: PlanContext, plan: PlanRecord, folder: 'processed' | 'failed'): Promise<string> {
  const to = `${folder}/${plan.blobName}`;
  await ctx.loads.blobs.move(plan.container, plan.blobName, to);
  return `${plan.container}/${to}`;
}

export interface PlanOutcome {
  status: 'succeeded' | 'partiallySucceeded' | 'failed';
  counts: NonNullable<PlanRecord['counts']>;
  message?: string;
  errorCode?: string;
}

/** Ends a plan whose loads are all over; a no-op when someone else is ending it or it is over already. */
export async function endPlan(ctx: PlanContext, planId: string, outcome: PlanOutcome): Promise<PlanRecord | undefined> {
  const now = () => isoAt(ctx.loads.now());
  const claimed = await ctx.store.mutate(planId, (p) => {
    if (isPlanTerminal(p)) return undefined;
    const since = p.finalizingSince ? Date.parse(p.finalizingSince) : undefined;
    if (since !== undefined && ctx.loads.now() - since < ctx.loads.stallMs) return undefined;
    return { finalizingSince: now() };
  });
  if (!claimed.changed) return undefined;
  const movedTo = await movePlanFile(ctx, claimed.record, outcome.status === 'failed' ? 'failed' : 'processed');
  const done = await ctx.store.mutate(planId, (p) =>
    isPlanTerminal(p)
      ? undefined
      : withPendingEvent(ctx, p, {
          status: outcome.status,
          counts: outcome.counts,
          ...(outcome.message ? { message: outcome.message } : {}),
          ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}),
          finishedAt: now(),
          updatedAt: now(),
          movedTo,
        }),
  );
  if (!done.changed) return undefined;
  ctx.loads.log?.info('Plan finished', { planId, status: outcome.status, ...outcome.counts });
  await announcePlan(ctx, done.record);
  return done.record;
}

/** A plan that can't run (its file or a table in it is wrong): failed with the user's message, file to `failed/`. */
export async function failPlan(
  ctx: PlanContext,
  planId: string,
  error: { code: string; message: string },
): Promise<PlanRecord> {
  const now = isoAt(ctx.loads.now());
  const failed = await ctx.store.mutate(planId, (p) =>
    isPlanTerminal(p)
      ? undefined
      : withPendingEvent(ctx, p, {
          status: 'failed',
          errorCode: error.code,
          message: error.message,
          finishedAt: now,
          updatedAt: now,
        }),
  );
  if (!failed.changed) return failed.record;
  ctx.loads.log?.warn('Plan failed', { planId, code: error.code, message: error.message });
  const movedTo = await movePlanFile(ctx, failed.record, 'failed');
  const moved = await ctx.store.mutate(planId, () => ({ movedTo }));
  await announcePlan(ctx, moved.record);
  return moved.record;
}
