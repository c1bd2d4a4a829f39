/**
 * One poller sweep: the pending jobs of this environment, their asyncoperations in one filtered query (split
 * only when the URL gets long), each job moved on; 30/31/32 end it with the result, the import job log's
 * failing components for 31. Then the lane advances, and end events a crash left pending in the outbox are
 * published (claimed with the job's ETag first). Safe to run on several instances at once.
 */
import { z } from 'zod';
import { importSolutionSchema } from './asyncOperationMessage';
import { isSolutionOperationBusy } from './asyncOperationApi';
import { sendImportStep } from './importPreflight';
import { summariseFormattedResults, summariseImportJobLog } from './importJobLog';
import { dataverseStepSchema, type DataverseStep } from './release/importDecision';
import { finishJob, publishPendingJobEvents, settleBatch } from './jobCompletion';
import { advanceLane } from './jobLane';
import { canTransition, isPastMaxWait, stateOfAsyncOperation, type AsyncOperationStatus, type Job } from './jobRecord';
import { JobConflictError, type StoredJob } from './jobStore';
import { isoAt, type JobContext } from './jobContext';
import { withLogFields } from '../observability/logScope';
import { recordAsyncOperationPollLag } from '../observability/telemetry';

export interface SweepResult {
  pending: number;
  polled: number;
  ended: number;
  /** Pending end events (left by a crash) this sweep published. */
  eventsPublished: number;
}

async function failureDetails(ctx: JobContext, job: Job, row: AsyncOperationStatus): Promise<Partial<Job>> {
  const lines: string[] = [];
  let processed: number | undefined;
  if (job.importJobKey) {
    try {
      const importJob = await ctx.api.retrieveImportJob(job.importJobKey);
      const summary = summariseImportJobLog(importJob?.data);
      if (importJob?.data) processed = summary.processed;
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
    ...(processed !== undefined ? { componentsProcessed: processed } : {}),
  };
}

/** The import job of the lane's holder, read once per sweep: its progress, or at the end what it processed. */
async function importJobFacts(ctx: JobContext, job: Job, ended: boolean): Promise<Partial<Job>> {
  if (!job.importJobKey) return {};
  try {
    const importJob = await ctx.api.retrieveImportJob(job.importJobKey);
    if (!importJob) return {};
    if (ended) return importJob.data ? { componentsProcessed: summariseImportJobLog(importJob.data).processed } : {};
    return typeof importJob.progress === 'number' ? { progress: importJob.progress } : {};
  } catch (error) {
    ctx.log?.warn('import job unavailable', { id: job.id, error: String(error) });
    return {};
  }
}

/**
 * A decision with more steps (DeleteAndPromote, then the import): the step that succeeded is followed by the
 * next, in the same job. Returns false when Dataverse is busy (the next sweep tries again).
 */
async function sendNextStep(ctx: JobContext, current: StoredJob, steps: DataverseStep[]): Promise<boolean> {
  const { job } = current;
  const index = (job.stepIndex ?? 0) + 1;
  const step = steps[index]!;
  const op = importSolutionSchema.safeParse(job.request ? JSON.parse(job.request) : undefined);
  let sent: { asyncOperationId: string; importJobKey?: string };
  try {
    if (!op.success) throw new Error(`The stored request is not valid: ${op.error.message}`);
    sent = await sendImportStep(ctx, op.data, step);
  } catch (error) {
    if (isSolutionOperationBusy(error)) return false;
    await finishJob(ctx, current, 'failed', {
      message: `Step ${index + 1} of ${steps.length} (${step.message}) could not be sent: ${error instanceof Error ? error.message : String(error)}`,
    });
    return true;
  }
  try {
    await ctx.store.update(job.id, current.etag, {
      asyncOperationId: sent.asyncOperationId,
      importJobKey: sent.importJobKey ?? '',
      stepIndex: index,
      progress: 0,
    });
    ctx.log?.info('Job step submitted', { jobId: job.id, step: step.message, asyncOperationId: sent.asyncOperationId });
  } catch (error) {
    // Another instance moved the job on first: this submission is one too many.
    if (error instanceof JobConflictError) await ctx.api.cancel(sent.asyncOperationId).catch(() => undefined);
    else throw error;
  }
  return true;
}

const stepsSchema = z.array(dataverseStepSchema);

function remainingSteps(job: Job): DataverseStep[] | undefined {
  if (!job.steps) return undefined;
  const steps = stepsSchema.parse(JSON.parse(job.steps));
  return (job.stepIndex ?? 0) + 1 < steps.length ? steps : undefined;
}

async function applyRow(
  ctx: JobContext,
  current: StoredJob,
  row: AsyncOperationStatus | undefined,
  holdsLane: boolean,
): Promise<boolean> {
  const { job } = current;
  if (row) {
    const state = stateOfAsyncOperation(row);
    if (state === 'succeeded') {
      const steps = remainingSteps(job);
      if (steps) {
        await sendNextStep(ctx, current, steps);
        return false;
      }
    }
    if (state === 'succeeded' || state === 'failed' || state === 'canceled') {
      const details =
        state === 'failed'
          ? await failureDetails(ctx, job, row)
          : {
              message: state === 'succeeded' ? (job.decisionReason ?? 'Succeeded.') : row.message || 'Canceled.',
              ...(holdsLane && state === 'succeeded' ? await importJobFacts(ctx, job, true) : {}),
            };
      const ended = await finishJob(ctx, current, state, {
        ...details,
        statusCode: row.statuscode,
        ...(row.startedon ? { startedAt: row.startedon } : {}),
        ...(row.completedon ? { completedAt: row.completedon } : {}),
      });
      if (ended !== undefined) recordAsyncOperationPollLag(job.kind, row.completedon ?? undefined, ctx.now());
      return ended !== undefined;
    }
    const moves = state !== job.state && canTransition(job.state, state);
    const facts = holdsLane && state === 'running' ? await importJobFacts(ctx, job, false) : {};
    const progressed = facts.progress !== undefined && facts.progress !== job.progress;
    if (moves || progressed) {
      try {
        await ctx.store.update(job.id, current.etag, {
          ...facts,
          ...(moves ? { state, ...(row.startedon ? { startedAt: row.startedon } : {}) } : {}),
        });
        if (moves) await ctx.index.updateJobState(job.id, state);
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
  // One solution operation runs at a time per environment: the lane's holder is the one whose import job is read.
  const holder = active.length > 0 ? (await ctx.store.getLane(ctx.environment)).holderJobId : '';
  let ended = 0;
  for (const current of active) {
    try {
      const row = byId.get(current.job.asyncOperationId!.toLowerCase());
      if (await withLogFields({ jobId: current.job.id }, () => applyRow(ctx, current, row, current.job.id === holder)))
        ended++;
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
