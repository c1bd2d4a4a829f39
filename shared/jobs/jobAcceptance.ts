/**
 * Turning a queue message (or an HTTP request) into recorded jobs: a rejected job with the reason when the
 * message is not valid, otherwise one queued job per operation (plus a batch job for a list). Recording is
 * idempotent by job id, so a redelivered message records nothing twice.
 */
import { jobKindOf, parseAsyncOperationMessage, type AsyncOperationRequest } from './asyncOperationMessage';
import { pendingEventFields, publishJobEvent } from './jobCompletion';
import { advanceLane } from './jobLane';
import { laneSeq, type Job } from './jobRecord';
import { isoAt, type JobContext } from './jobContext';
import { jobIdPattern } from '../security/inputChecks';

export interface AcceptMeta {
  /** Job id to use when the message names none (the queue message id, a new id for HTTP). */
  defaultJobId: string;
  source: Job['source'];
  correlationId?: string;
}

export interface AcceptResult {
  jobId: string;
  state: Job['state'];
  /** False when the job had been recorded already (a redelivered message). */
  created: boolean;
  reason?: string;
  childIds?: string[];
}

function solutionNameOf(op: AsyncOperationRequest): string | undefined {
  if (op.kind === 'DeleteAndPromote') return op.uniqueName;
  if (op.kind === 'ImportSolution') return op.solution.name.replace(/^.*\//, '').replace(/\.zip$/i, '');
  return undefined;
}

/** Records a job and its index entry; false when it was recorded already. */
export async function recordJob(ctx: JobContext, job: Job): Promise<boolean> {
  const { created } = await ctx.store.create(job);
  // The index write is repeated on redelivery: it may be the step that failed last time.
  await ctx.index.recordJob({
    id: job.id,
    kind: job.kind,
    state: job.state,
    createdAt: job.createdAt,
    statusUrl: ctx.statusUrl(job.id, job.kind),
    ...(job.solutionName ? { name: job.solutionName } : {}),
  });
  return created;
}

export async function acceptMessage(
  ctx: JobContext,
  raw: unknown,
  meta: AcceptMeta,
  options: { advance?: boolean } = {},
): Promise<AcceptResult> {
  const nowMs = ctx.now();
  const createdAt = isoAt(nowMs);
  const named = typeof raw === 'object' && raw !== null ? (raw as { jobId?: unknown }).jobId : undefined;
  const jobId = typeof named === 'string' && jobIdPattern.test(named) ? named : meta.defaultJobId;
  const parsed = parseAsyncOperationMessage(raw);
  const correlationId =
    (parsed.ok
      ? parsed.message.kind === 'single'
        ? parsed.message.operation.correlationId
        : parsed.message.list.correlationId
      : parsed.correlationId) ??
    meta.correlationId ??
    jobId;
  const base = { environment: ctx.environment, laneSeq: laneSeq(nowMs), source: meta.source, correlationId, createdAt };

  if (!parsed.ok) {
    const kind =
      (['ImportSolution', 'StageAndUpgrade', 'DeleteAndPromote', 'Merge', 'Batch'] as const).find(
        (k) => k === parsed.requestedKind,
      ) ?? 'Unknown';
    const rejected: Job = {
      ...base,
      id: jobId,
      kind,
      state: 'rejected',
      message: `Rejected: ${parsed.reason}`,
      completedAt: createdAt,
    };
    // The end event is recorded with the job (outbox); a crash before it is published leaves it to the poller sweep.
    const job: Job = { ...rejected, ...pendingEventFields(ctx, rejected) };
    const created = await recordJob(ctx, job);
    if (created) await publishJobEvent(ctx, job);
    return { jobId, state: 'rejected', created, reason: parsed.reason };
  }

  const operations = parsed.message.kind === 'single' ? [parsed.message.operation] : parsed.message.list.operations;
  let created: boolean;
  let childIds: string[] | undefined;
  if (parsed.message.kind === 'single') {
    const op = parsed.message.operation;
    created = await recordJob(ctx, {
      ...base,
      id: jobId,
      kind: jobKindOf(op),
      state: 'queued',
      request: JSON.stringify(op),
      solutionName: solutionNameOf(op),
    });
  } else {
    childIds = operations.map((_, i) => `${jobId}.${i + 1}`);
    created = await recordJob(ctx, {
      ...base,
      id: jobId,
      kind: 'Batch',
      state: 'running',
      childIds: JSON.stringify(childIds),
      continueOnError: parsed.message.list.continueOnError,
      startedAt: createdAt,
    });
    for (const [i, op] of operations.entries()) {
      await recordJob(ctx, {
        ...base,
        id: childIds[i]!,
        kind: jobKindOf(op),
        state: 'queued',
        laneSeq: laneSeq(nowMs, i),
        request: JSON.stringify(op),
        solutionName: solutionNameOf(op),
        batchId: jobId,
        batchIndex: i,
      });
    }
  }
  if (options.advance ?? true) await advanceLane(ctx);
  const current = await ctx.store.get(jobId);
  return { jobId, state: current?.job.state ?? 'queued', created, ...(childIds ? { childIds } : {}) };
}
