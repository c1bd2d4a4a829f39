/**
 * Ending a job: one ETag-guarded transition to a terminal state that also records the end event to publish
 * (transactional outbox, events/eventOutbox.ts); only the writer that wins it records the index state, publishes
 * the event and marks it published, settles the job's batch and frees the lane. A crash after the transition
 * leaves the event pending, and the poller sweep publishes it (`publishPendingJobEvents`): none is lost.
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
import {
  batchOutcome,
  blockingPredecessor,
  canTransition,
  isTerminal,
  outcomeOf,
  type Job,
  type JobState,
} from './jobRecord';
import { JobConflictError, type StoredJob } from './jobStore';
import { releaseOutcome } from './release/releasePlan';
import { solutionRunState } from './releaseView';
import { isoAt, type JobContext } from './jobContext';

export type FinalPatch = Partial<Omit<Job, 'id' | 'kind' | 'state'>>;

/** The end event of a job from its final record (counts: a batch's children by state). */
export function jobEndEvent(
  ctx: Pick<JobContext, 'statusUrl'>,
  job: Job,
  counts?: Record<string, number>,
): JobEventInput {
  return {
    id: job.id,
    kind: job.kind,
    outcome: outcomeOf(job.state),
    ...(job.statusCode !== undefined ? { statusCode: job.statusCode } : {}),
    ...(counts ? { counts } : {}),
    ...(job.message ? { message: job.message.slice(0, 4000) } : {}),
    ...(job.decision ? { decision: { action: job.decision, reason: job.decisionReason ?? '' } } : {}),
    links: { status: ctx.statusUrl(job.id, job.kind) },
    finishedAt: job.completedAt ?? job.createdAt,
  };
}

/**
 * The outbox fields a job's final write carries: the event to publish, not yet published. A release's solutions
 * publish none: the release has one event for all of them.
 */
export function pendingEventFields(
  ctx: Pick<JobContext, 'statusUrl' | 'now'>,
  job: Job,
  counts?: Record<string, number>,
): Pick<Job, 'pendingEvent' | 'eventPublished'> {
  if (job.inRelease) return {};
  return { pendingEvent: recordPendingEvent(jobEndEvent(ctx, job, counts), ctx.now()), eventPublished: false };
}

/** `eventPublished: true` with the job's ETag, re-read on a conflict (other writers only touch other fields). */
async function markJobEventPublished(ctx: JobContext, id: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await ctx.store.get(id);
    if (!current || current.job.eventPublished !== false) return;
    try {
      await ctx.store.update(id, current.etag, { eventPublished: true });
      return;
    } catch (error) {
      if (!(error instanceof JobConflictError)) throw error;
    }
  }
}

/**
 * Publishes the pending event of a job this writer just ended, then marks it published. A failure is logged,
 * not thrown: the transition stands and the poller sweep publishes the event later.
 */
export async function publishJobEvent(ctx: JobContext, ended: Job): Promise<void> {
  if (ended.eventPublished !== false) return;
  try {
    const event = readPendingEvent(ended.pendingEvent)?.event ?? jobEndEvent(ctx, ended);
    await deliverPendingEvent(ctx.events, event, () => markJobEventPublished(ctx, ended.id));
  } catch (error) {
    ctx.log?.warn('job event not published yet; the poller sweep will publish it', {
      id: ended.id,
      error: String(error),
    });
  }
}

/**
 * The poller's outbox sweep: ended jobs of this environment whose event is still pending after the grace period
 * are claimed (ETag) and published. Returns the ids published.
 */
export async function publishPendingJobEvents(ctx: JobContext, graceMs = DEFAULT_EVENT_GRACE_MS): Promise<string[]> {
  const published: string[] = [];
  for (const stored of await ctx.store.listUnpublishedEvents({ environment: ctx.environment })) {
    const { job } = stored;
    if (!isTerminal(job.state)) continue;
    try {
      const outcome: OutboxSweepOutcome = await sweepPendingEvent(
        ctx.events,
        {
          pending: readPendingEvent(job.pendingEvent),
          rebuild: () => jobEndEvent(ctx, job),
          claim: async (json) => {
            try {
              await ctx.store.update(job.id, stored.etag, { pendingEvent: json });
              return true;
            } catch (error) {
              if (error instanceof JobConflictError) return false;
              throw error;
            }
          },
          markPublished: () => markJobEventPublished(ctx, job.id),
        },
        { nowMs: ctx.now(), graceMs },
      );
      if (outcome === 'published') {
        published.push(job.id);
        await ctx.index.updateJobState(job.id, job.state, { at: job.completedAt }).catch(() => undefined);
      }
    } catch (error) {
      ctx.log?.warn('pending job event not published', { id: job.id, error: String(error) });
    }
  }
  return published;
}

/** Returns the ended job, or undefined when another writer changed it first. */
export async function finishJob(
  ctx: JobContext,
  current: StoredJob,
  state: JobState,
  patch: FinalPatch = {},
): Promise<Job | undefined> {
  if (!isTerminal(state) || !canTransition(current.job.state, state)) return undefined;
  const completedAt = patch.completedAt ?? isoAt(ctx.now());
  const final: Job = { ...current.job, ...patch, state, completedAt };
  const counts =
    (final.kind === 'Batch' || final.kind === 'Release') && final.childIds ? await childCounts(ctx, final) : undefined;
  let ended: StoredJob;
  try {
    ended = await ctx.store.update(current.job.id, current.etag, {
      ...patch,
      state,
      completedAt,
      ...pendingEventFields(ctx, final, counts),
    });
  } catch (error) {
    if (error instanceof JobConflictError) return undefined;
    throw error;
  }
  const job = ended.job;
  await ctx.index
    .updateJobState(job.id, state, { at: job.completedAt })
    .catch((error) => ctx.log?.warn('job index update failed', { id: job.id, error: String(error) }));
  await publishJobEvent(ctx, job);
  if (job.batchId) await settleBatch(ctx, job.batchId);
  await releaseLane(ctx, job.id);
  return job;
}

async function childCounts(ctx: JobContext, batch: Job): Promise<Record<string, number>> {
  const children = await ctx.store.listBatchChildren(batch.id);
  return batchOutcome(children.map((c) => c.job.state)).counts;
}

/** Frees the lane if this job holds it. */
export async function releaseLane(ctx: JobContext, jobId: string): Promise<void> {
  const lane = await ctx.store.getLane(ctx.environment);
  if (lane.holderJobId === jobId) await ctx.store.setLaneHolder(lane, '', isoAt(ctx.now()));
}

/**
 * After a child ended: queued children that may no longer start (behind a failed one in a stop-on-error batch or
 * release; requiring a failed one in a release that goes on) are canceled, not started; once every child has
 * ended, the batch itself ends.
 */
export async function settleBatch(ctx: JobContext, batchId: string): Promise<void> {
  const batch = await ctx.store.get(batchId);
  if (!batch || isTerminal(batch.job.state)) return;
  const children = await ctx.store.listBatchChildren(batchId);
  const release = batch.job.kind === 'Release';
  for (const child of children) {
    if (child.job.state !== 'queued') continue;
    const blocker = blockingPredecessor(
      children.map((c) => c.job),
      child.job,
      batch.job.continueOnError,
    );
    if (!blocker) continue;
    const reason = release
      ? `Not started: ${solutionLabel(blocker)} ended ${blocker.state}${batch.job.continueOnError ? ` and ${solutionLabel(child.job)} requires it` : ', and the release does not continue on error'}.`
      : `Not started: operation ${(blocker.batchIndex ?? 0) + 1} of the list (job ${blocker.id}) ended ${blocker.state}, and the list does not continue on error.`;
    // finishJob settles the batch again; the recursion ends because each call cancels a queued child.
    await finishJob(ctx, child, 'canceled', { message: reason });
    return;
  }
  const outcome = batchOutcome(children.map((c) => c.job.state));
  if (!outcome.done || !outcome.state) return;
  // A release ends as its solutions did: skipped counts as done; a canceled or never-started one as not.
  if (release) outcome.state = releaseOutcome(children.map((c) => solutionRunState(c.job)));
  await finishJob(ctx, batch, outcome.state, {
    message: release ? releaseMessage(children, outcome.state) : batchMessage(children),
  });
}

function batchMessage(children: readonly StoredJob[]): string {
  const failed = children
    .filter((c) => c.job.state !== 'succeeded')
    .map((c) =>
      `${(c.job.batchIndex ?? 0) + 1}. ${c.job.kind} ${c.job.solutionName ?? ''} ${c.job.state}${c.job.message ? `: ${c.job.message.split('\n')[0]}` : ''}`.replace(
        / +/g,
        ' ',
      ),
    );
  return failed.length === 0 ? `All ${children.length} operations succeeded.` : failed.join('\n');
}

/** Every solution of a release, one line each, after a summary line when all of them are done. */
function releaseMessage(children: readonly StoredJob[], state: JobState): string {
  const head = state === 'succeeded' ? [`All ${children.length} solutions succeeded or were skipped.`] : [];
  return [...head, ...children.map((c) => releaseLine(c.job))].join('\n');
}

const solutionLabel = (job: Pick<Job, 'id' | 'solutionName'>): string =>
  job.solutionName ? `${job.solutionName} (job ${job.id})` : `job ${job.id}`;

/** One line of a release's end message: position, solution, decision, state, first line of the reason. */
function releaseLine(job: Job): string {
  const first = job.message?.split('\n')[0];
  const state = job.state === 'succeeded' && job.decision === 'skip' ? 'skipped' : job.state;
  return `${(job.batchIndex ?? 0) + 1}. ${job.solutionName ?? job.id} ${job.solutionVersion ?? ''} ${job.decision ?? ''} ${state}${first && job.state !== 'succeeded' ? `: ${first}` : ''}`.replace(
    / +/g,
    ' ',
  );
}
