/**
 * Ending a job: one ETag-guarded transition to a terminal state, and only the writer that wins it records the
 * index state, emits the event, settles the job's batch and frees the lane.
 */
import { batchOutcome, blockingPredecessor, canTransition, isTerminal, outcomeOf, type Job, type JobState } from './jobRecord';
import { JobConflictError, type StoredJob } from './jobStore';
import { isoAt, type JobContext } from './jobContext';

export type FinalPatch = Partial<Omit<Job, 'id' | 'kind' | 'state'>>;

/** Returns the ended job, or undefined when another writer changed it first. */
export async function finishJob(ctx: JobContext, current: StoredJob, state: JobState, patch: FinalPatch = {}): Promise<Job | undefined> {
  if (!isTerminal(state) || !canTransition(current.job.state, state)) return undefined;
  let ended: StoredJob;
  try {
    ended = await ctx.store.update(current.job.id, current.etag, { ...patch, state, completedAt: patch.completedAt ?? isoAt(ctx.now()) });
  } catch (error) {
    if (error instanceof JobConflictError) return undefined;
    throw error;
  }
  const job = ended.job;
  await ctx.index.updateJobState(job.id, state, { at: job.completedAt }).catch((error) => ctx.log?.warn('job index update failed', { id: job.id, error: String(error) }));
  const counts = job.kind === 'Batch' && job.childIds ? await childCounts(ctx, job) : undefined;
  await ctx.events.publish({
    id: job.id,
    kind: job.kind,
    outcome: outcomeOf(state),
    ...(job.statusCode !== undefined ? { statusCode: job.statusCode } : {}),
    ...(counts ? { counts } : {}),
    ...(job.message ? { message: job.message.slice(0, 4000) } : {}),
    links: { status: ctx.statusUrl(job.id) },
    finishedAt: job.completedAt ?? isoAt(ctx.now()),
  });
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
 * After a child ended: in a stop-on-error batch, queued children behind a failed one are canceled (not started);
 * once every child has ended, the batch itself ends.
 */
export async function settleBatch(ctx: JobContext, batchId: string): Promise<void> {
  const batch = await ctx.store.get(batchId);
  if (!batch || isTerminal(batch.job.state)) return;
  const children = await ctx.store.listBatchChildren(batchId);
  if (!batch.job.continueOnError) {
    for (const child of children) {
      if (child.job.state !== 'queued') continue;
      const blocker = blockingPredecessor(children.map((c) => c.job), child.job);
      if (!blocker) continue;
      const reason = `Not started: operation ${(blocker.batchIndex ?? 0) + 1} of the list (job ${blocker.id}) ended ${blocker.state}, and the list does not continue on error.`;
      // finishJob settles the batch again; the recursion ends because each call cancels a queued child.
      await finishJob(ctx, child, 'canceled', { message: reason });
      return;
    }
  }
  const outcome = batchOutcome(children.map((c) => c.job.state));
  if (!outcome.done || !outcome.state) return;
  const failed = children.filter((c) => c.job.state !== 'succeeded').map((c) => `${(c.job.batchIndex ?? 0) + 1}. ${c.job.kind} ${c.job.solutionName ?? ''} ${c.job.state}${c.job.message ? `: ${c.job.message.split('\n')[0]}` : ''}`.replace(/ +/g, ' '));
  await finishJob(ctx, batch, outcome.state, {
    message: failed.length === 0 ? `All ${children.length} operations succeeded.` : failed.join('\n'),
  });
}
