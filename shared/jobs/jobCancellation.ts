/**
 * Canceling a job: a queued one ends canceled here; a submitted or running one is asked to stop in Dataverse
 * (asyncoperation statecode 3 / statuscode 32) and ends when Dataverse confirms (checked at once, then by the poller).
 */
import { finishJob } from './jobCompletion';
import { isTerminal, stateOfAsyncOperation, type Job } from './jobRecord';
import { isoAt, type JobContext } from './jobContext';

export type CancelResult =
  | { kind: 'notFound' }
  | { kind: 'alreadyEnded'; job: Job }
  | { kind: 'canceled'; job: Job }
  | { kind: 'cancelRequested'; job: Job };

export async function cancelJob(ctx: JobContext, id: string): Promise<CancelResult> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await ctx.store.get(id);
    if (!current) return { kind: 'notFound' };
    const { job } = current;
    if (isTerminal(job.state)) return { kind: 'alreadyEnded', job };
    if (job.kind === 'Batch' || job.kind === 'Release') {
      const children = await ctx.store.listBatchChildren(id);
      // Queued children first, so the lane cannot hand the next one to Dataverse meanwhile.
      for (const child of [...children].reverse()) if (!isTerminal(child.job.state)) await cancelJob(ctx, child.job.id);
      const after = await ctx.store.get(id);
      return after && isTerminal(after.job.state)
        ? { kind: 'canceled', job: after.job }
        : { kind: 'cancelRequested', job: after?.job ?? job };
    }
    if (job.state === 'queued') {
      const ended = await finishJob(ctx, current, 'canceled', {
        message: `Canceled before it was submitted (${isoAt(ctx.now())}).`,
      });
      if (ended) return { kind: 'canceled', job: ended };
      continue; // it moved on meanwhile (submitted, or ended): look again
    }
    await ctx.api.cancel(job.asyncOperationId!);
    const [row] = await ctx.api.retrieveAsyncOperations([job.asyncOperationId!]);
    if (row && stateOfAsyncOperation(row) === 'canceled') {
      const ended = await finishJob(ctx, current, 'canceled', {
        statusCode: row.statuscode,
        message: row.message || 'Canceled on request.',
        ...(row.completedon ? { completedAt: row.completedon } : {}),
      });
      if (ended) return { kind: 'canceled', job: ended };
      const now = await ctx.store.get(id);
      return now && isTerminal(now.job.state) ? { kind: 'canceled', job: now.job } : { kind: 'cancelRequested', job };
    }
    return { kind: 'cancelRequested', job };
  }
  const last = await ctx.store.get(id);
  return last ? { kind: 'cancelRequested', job: last.job } : { kind: 'notFound' };
}
