/**
 * One poller sweep: the pending jobs of this environment, their asyncoperations in one filtered query (split
 * only when the URL gets long), each job moved on; 30/31/32 end it with the result, the import job log's
 * failing components for 31. Then the lane advances, and end events a crash left pending in the outbox are
 * published (claimed with the job's ETag first). Safe to run on several instances at once.
 */
import { summariseFormattedResults, summariseImportJobLog } from './importJobLog';
import { finishJob, publishPendingJobEvents, settleBatch } from './jobCompletion';
import { advanceLane } from './jobLane';
import { canTransition, isPastMaxWait, stateOfAsyncOperation, type AsyncOperationStatus, type Job } from './jobRecord';
import { JobConflictError, type StoredJob } from './jobStore';
import { isoAt, type JobContext } from './jobContext';

export interface SweepResult {
  pending: number;
  polled: number;
  ended: number;
  /** Pending end events (left by a crash) this sweep published. */
  eventsPublished: number;
}

async function failureDetails(ctx: JobContext, job: Job, row: AsyncOperationStatus): Promise<Partial<Job>> {
  const lines: string[] = [];
  if (job.importJobKey) {
    try {
      const importJob = await ctx.api.retrieveImportJob(job.importJobKey);
      const summary = summariseImportJobLog(importJob?.data);
      if (summary.text) lines.push(summary.text);
      else {
        const formatted = summariseFormattedResults(await ctx.api.retrieveFormattedImportJobResults(job.importJobKey));
        lines.push(...formatted);
      }
    } catch (error) {
      ctx.log?.warn('import job log unavailable', { id: job.id, error: String(error) });
    }
  }
  const importLog = lines.join('\n');
  const head = row.friendlymessage || row.message || 'The asynchronous operation failed without a message.';
  return {
    message: importLog ? `${head}\nImport job log:\n${importLog}` : head,
    ...(row.friendlymessage ? { friendlyMessage: row.friendlymessage } : {}),
    ...(importLog ? { importLog: importLog.slice(0, 30_000) } : {}),
  };
}

async function applyRow(ctx: JobContext, current: StoredJob, row: AsyncOperationStatus | undefined): Promise<boolean> {
  const { job } = current;
  if (row) {
    const state = stateOfAsyncOperation(row);
    if (state === 'succeeded' || state === 'failed' || state === 'canceled') {
      const details =
        state === 'failed'
          ? await failureDetails(ctx, job, row)
          : { message: state === 'succeeded' ? 'Succeeded.' : row.message || 'Canceled.' };
      const ended = await finishJob(ctx, current, state, {
        ...details,
        statusCode: row.statuscode,
        ...(row.startedon ? { startedAt: row.startedon } : {}),
        ...(row.completedon ? { completedAt: row.completedon } : {}),
      });
      return ended !== undefined;
    }
    if (state !== job.state && canTransition(job.state, state)) {
      try {
        await ctx.store.update(job.id, current.etag, { state, ...(row.startedon ? { startedAt: row.startedon } : {}) });
        await ctx.index.updateJobState(job.id, state);
      } catch (error) {
        if (!(error instanceof JobConflictError)) throw error;
      }
    }
  }
  if (isPastMaxWait(job, ctx.now(), ctx.maxWaitMinutes)) {
    const ended = await finishJob(ctx, current, 'timedOut', {
      message:
        `No final status after ${ctx.maxWaitMinutes} minutes (ASYNC_MAX_WAIT_MINUTES). The AsyncOperation ${job.asyncOperationId} ` +
        `keeps running in Dataverse; check asyncoperations(${job.asyncOperationId}) or Solution History for its outcome.`,
    });
    return ended !== undefined;
  }
  return false;
}

export async function sweepAsyncOperations(ctx: JobContext): Promise<SweepResult> {
  const pending = await ctx.store.listPending({ environment: ctx.environment });
  const active = pending.filter(
    (s) => (s.job.state === 'submitted' || s.job.state === 'running') && s.job.asyncOperationId,
  );
  const rows =
    active.length > 0 ? await ctx.api.retrieveAsyncOperations(active.map((s) => s.job.asyncOperationId!)) : [];
  const byId = new Map(rows.map((r) => [r.asyncoperationid.toLowerCase(), r]));
  let ended = 0;
  for (const current of active) {
    try {
      if (await applyRow(ctx, current, byId.get(current.job.asyncOperationId!.toLowerCase()))) ended++;
    } catch (error) {
      ctx.log?.warn('job update failed', { id: current.job.id, error: String(error) });
    }
  }
  // Batches whose last child ended while an instance crashed are settled here.
  for (const batch of pending.filter((s) => s.job.kind === 'Batch')) await settleBatch(ctx, batch.job.id);
  await advanceLane(ctx);
  const eventsPublished = (
    await publishPendingJobEvents(ctx).catch((error) => {
      ctx.log?.warn('outbox sweep failed', { error: String(error) });
      return [];
    })
  ).length;
  ctx.log?.info('async operation sweep', {
    pending: pending.length,
    polled: active.length,
    ended,
    eventsPublished,
    at: isoAt(ctx.now()),
  });
  return { pending: pending.length, polled: active.length, ended, eventsPublished };
}
