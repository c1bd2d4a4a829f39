/**
 * One solution operation at a time per environment: the lane entity names the job that holds it, claimed with
 * an ETag-conditional write, and queued jobs are submitted in lane order when it is free. A "Cannot start another
 * [Import]" refusal leaves the job queued (a wait, not a failure).
 */
import {
  asyncOperationSchema,
  type AsyncOperationRequest,
  type ImportSolutionOperation,
} from './asyncOperationMessage';
import { isSolutionOperationBusy } from './asyncOperationApi';
import { finishJob, settleBatch } from './jobCompletion';
import { blockingPredecessor, isTerminal, type Job } from './jobRecord';
import { JobConflictError, type StoredJob } from './jobStore';
import { isoAt, type JobContext } from './jobContext';
import { preflightImport, sendImportStep } from './importPreflight';
import { LoaderError } from '../errors';
import { withLogFields } from '../observability/logScope';

type SubmitResult =
  | {
      kind: 'submitted';
      asyncOperationId: string;
      importJobKey?: string;
      fields?: Partial<Job>;
    }
  | { kind: 'completed'; message: string; fields?: Partial<Job> }
  | { kind: 'rejected'; message: string; fields?: Partial<Job> }
  | { kind: 'busy'; reason: string }
  | { kind: 'failed'; message: string; fields?: Partial<Job> };

function errorText(error: unknown): string {
  if (error instanceof LoaderError && error.code) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** Decides (issue 18) and sends the decision's first step; a skip sends nothing. */
async function submitImport(ctx: JobContext, op: ImportSolutionOperation): Promise<SubmitResult> {
  const pre = await preflightImport(ctx, op);
  const facts = Object.fromEntries(Object.entries(pre.facts).filter(([, v]) => v !== undefined)) as Partial<Job>;
  if (pre.kind === 'rejected') return { kind: 'rejected', message: `Rejected: ${pre.message}`, fields: facts };
  const { decision } = pre;
  const fields: Partial<Job> = { ...facts, steps: JSON.stringify(decision.steps) };
  if (decision.steps.length === 0) return { kind: 'completed', message: decision.reason, fields };
  try {
    const r = await sendImportStep(ctx, op, decision.steps[0]!, pre.inputs);
    return { kind: 'submitted', ...r, fields: { ...fields, stepIndex: 0 } };
  } catch (error) {
    if (isSolutionOperationBusy(error)) throw error;
    return { kind: 'failed', message: errorText(error), fields };
  }
}

async function submit(ctx: JobContext, op: AsyncOperationRequest): Promise<SubmitResult> {
  try {
    switch (op.kind) {
      case 'ImportSolution':
        return await submitImport(ctx, op);
      case 'DeleteAndPromote': {
        const r = await ctx.api.submitDeleteAndPromote(op.uniqueName);
        return { kind: 'submitted', asyncOperationId: r.asyncOperationId, fields: { solutionName: op.uniqueName } };
      }
      case 'Merge':
        await ctx.api.merge(op);
        return { kind: 'completed', message: `Merged ${op.table} ${op.subordinate} into ${op.target}.` };
    }
  } catch (error) {
    if (isSolutionOperationBusy(error))
      return { kind: 'busy', reason: `Dataverse is running another solution operation: ${errorText(error)}` };
    return { kind: 'failed', message: errorText(error) };
  }
}

/** Whether the lane's holder still needs it. */
function holderActive(ctx: JobContext, holder: StoredJob | undefined, claimedAt: string | undefined): boolean {
  if (!holder || isTerminal(holder.job.state)) return false;
  if (holder.job.state !== 'queued') return true;
  // Claimed but never submitted: the claimer crashed, unless the claim is recent (a submit in flight).
  const claimed = claimedAt ? Date.parse(claimedAt) : 0;
  return ctx.now() - claimed < ctx.staleClaimMs;
}

/**
 * Submits queued jobs of this environment in order while the lane is free. Returns when the lane is held by a
 * running operation, the queue is empty, Dataverse says it is busy, or another instance claimed the lane.
 */
export async function advanceLane(ctx: JobContext, options: { maxSteps?: number } = {}): Promise<void> {
  for (let step = 0; step < (options.maxSteps ?? 20); step++) {
    const lane = await ctx.store.getLane(ctx.environment);
    if (lane.holderJobId) {
      const holder = await ctx.store.get(lane.holderJobId);
      if (holderActive(ctx, holder, lane.claimedAt)) return;
    }
    const queued = (await ctx.store.listPending({ environment: ctx.environment })).filter(
      (s) => s.job.state === 'queued' && s.job.kind !== 'Batch',
    );
    const next = queued[0];
    if (!next) {
      if (lane.holderJobId) await ctx.store.setLaneHolder(lane, '', isoAt(ctx.now()));
      return;
    }
    if (next.job.batchId) {
      const batch = await ctx.store.get(next.job.batchId);
      if (batch) {
        const siblings = await ctx.store.listBatchChildren(next.job.batchId);
        if (
          blockingPredecessor(
            siblings.map((s) => s.job),
            next.job,
            batch.job.continueOnError,
          )
        ) {
          await settleBatch(ctx, next.job.batchId);
          continue;
        }
      }
    }
    if (!(await ctx.store.setLaneHolder(lane, next.job.id, isoAt(ctx.now())))) return; // another instance is advancing
    const done = await submitHeld(ctx, next);
    if (!done) return;
  }
}

/** Submits the job that holds the lane. Returns true when the lane is free again (job ended at once). */
async function submitHeld(ctx: JobContext, held: StoredJob): Promise<boolean> {
  const parsed = asyncOperationSchema.safeParse(held.job.request ? JSON.parse(held.job.request) : undefined);
  if (!parsed.success) {
    await finishJob(ctx, held, 'failed', { message: `The stored request is not valid: ${parsed.error.message}` });
    return true;
  }
  const result = await withLogFields({ jobId: held.job.id }, () => submit(ctx, parsed.data));
  const at = isoAt(ctx.now());
  const jobFields = { jobId: held.job.id, kind: parsed.data.kind, correlationId: held.job.correlationId };
  if (result.kind === 'submitted')
    ctx.log?.info('Job submitted', {
      ...jobFields,
      asyncOperationId: result.asyncOperationId,
      importJobKey: result.importJobKey,
    });
  else if (result.kind === 'failed') ctx.log?.warn('Job submission failed', { ...jobFields, reason: result.message });
  else ctx.log?.info(`Job ${result.kind}`, { ...jobFields, ...('reason' in result ? { reason: result.reason } : {}) });
  switch (result.kind) {
    case 'submitted':
      try {
        await ctx.store.update(held.job.id, held.etag, {
          ...result.fields,
          state: 'submitted',
          asyncOperationId: result.asyncOperationId,
          ...(result.importJobKey ? { importJobKey: result.importJobKey } : {}),
          submittedAt: at,
          waitReason: '',
        });
        await ctx.index.updateJobState(held.job.id, 'submitted', { at });
      } catch (error) {
        // Canceled locally while it was being submitted: cancel it in Dataverse too.
        if (error instanceof JobConflictError) await ctx.api.cancel(result.asyncOperationId).catch(() => undefined);
        else throw error;
      }
      return false;
    case 'completed':
      await finishJob(ctx, held, 'succeeded', {
        ...result.fields,
        message: result.message,
        submittedAt: at,
        startedAt: at,
      });
      return true;
    case 'rejected':
      await finishJob(ctx, held, 'rejected', { ...result.fields, message: result.message });
      return true;
    case 'failed':
      await finishJob(ctx, held, 'failed', { ...result.fields, message: result.message, submittedAt: at });
      return true;
    case 'busy': {
      await ctx.store.update(held.job.id, held.etag, { waitReason: result.reason }).catch(() => undefined);
      const lane = await ctx.store.getLane(ctx.environment);
      if (lane.holderJobId === held.job.id) await ctx.store.setLaneHolder(lane, '', at);
      return false; // wait for the next sweep
    }
  }
}
