/**
 * The job entity kept in the jobs table (PartitionKey 'job', RowKey = job id) and the pure rules of its states.
 */
import { z } from 'zod';
import type { JobOutcome } from '../events/jobEvents';
import { terminalJobStates, terminalStates } from '../storage/jobIndex';

export const JOB_PARTITION = 'job';

const pendingJobStates = ['queued', 'submitted', 'running'] as const;
export const jobStates = [...pendingJobStates, ...terminalJobStates] as const;
export type JobState = (typeof jobStates)[number];
export const pendingStates: readonly JobState[] = pendingJobStates;
/** The job index's terminal states (shared with loads): a job in one never changes again. */
export const isTerminal = (state: JobState): boolean => terminalStates.has(state);

const optionalString = z.string().optional();
const optionalNumber = z.number().optional();

export const jobSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['ImportSolution', 'StageAndUpgrade', 'DeleteAndPromote', 'Merge', 'Batch', 'Release', 'Unknown']),
  state: z.enum(jobStates),
  /** DATAVERSE_URL the job runs against: the lane it waits in. */
  environment: z.string(),
  /** Order within the lane: creation time then position in its list. */
  laneSeq: z.string(),
  /** The validated operation (JSON), absent for a rejected message and a batch. */
  request: optionalString,
  source: z.enum(['queue', 'http', 'blob']).default('queue'),
  correlationId: z.string(),
  batchId: optionalString,
  batchIndex: optionalNumber,
  /** Batch only: child job ids in order (JSON array) and whether to go on after a failure. */
  childIds: optionalString,
  continueOnError: z.boolean().optional(),
  solutionName: optionalString,
  solutionVersion: optionalString,
  asyncOperationId: optionalString,
  importJobKey: optionalString,
  /** AsyncOperation statuscode (30/31/32) once known. */
  statusCode: optionalNumber,
  message: optionalString,
  friendlyMessage: optionalString,
  /** The failing components from the import job log, one per line. */
  importLog: optionalString,
  /** Why a queued job has not been submitted yet (e.g. Dataverse refused: another import is running). */
  waitReason: optionalString,
  createdAt: z.string(),
  submittedAt: optionalString,
  startedAt: optionalString,
  completedAt: optionalString,
  /** Import decision (issue 18): skip, install, update, upgrade or holding, and why. */
  decision: optionalString,
  decisionReason: optionalString,
  /** The Dataverse messages the decision sends, in order (JSON of DataverseStep[]), and the one sent last. */
  steps: optionalString,
  stepIndex: optionalNumber,
  /** A half-done upgrade found at submit (`<name>_Upgrade` installed next to `<name>`), as a sentence. */
  upgradeState: optionalString,
  /** The import job's progress percentage while it runs; the components its log lists once it ended. */
  progress: optionalNumber,
  componentsProcessed: optionalNumber,
  /** Release children: ids of the release's solutions this one requires (JSON array); they publish no own event. */
  requires: optionalString,
  inRelease: z.boolean().optional(),
  /** Release: the plan's files in order (JSON array of { file, uniqueName, versionText }). */
  releasePlan: optionalString,
  /** The end event to publish (events/eventOutbox PendingEvent JSON), written with the final state. */
  pendingEvent: optionalString,
  /** false from the final transition until the event is on the queue (the poller sweep publishes leftovers). */
  eventPublished: z.boolean().optional(),
});
export type Job = z.infer<typeof jobSchema>;

/** Table entities cannot hold undefined; drop those keys. */
export function toEntity(
  job: Partial<Job> & { id: string },
): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const entity: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(job)) if (value !== undefined) entity[key] = value;
  return { ...entity, partitionKey: JOB_PARTITION, rowKey: job.id };
}

/** Properties Table Storage adds to every entity; not part of a job. */
const tableSystemProperties = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata']);

export function fromEntity(entity: Record<string, unknown>): Job {
  return jobSchema.parse(Object.fromEntries(Object.entries(entity).filter(([k]) => !tableSystemProperties.has(k))));
}

export function laneSeq(createdAtMs: number, index = 0): string {
  return `${String(createdAtMs).padStart(16, '0')}_${String(index).padStart(4, '0')}`;
}

/** A state only moves forward: pending states in order, then one terminal state for good. */
export function canTransition(from: JobState, to: JobState): boolean {
  if (isTerminal(from)) return false;
  if (isTerminal(to)) return true;
  return pendingStates.indexOf(to) > pendingStates.indexOf(from);
}

export interface AsyncOperationStatus {
  asyncoperationid: string;
  statecode: number;
  statuscode: number;
  message?: string | null;
  friendlymessage?: string | null;
  startedon?: string | null;
  completedon?: string | null;
  errorcode?: number | null;
}

/** The job state an asyncoperation row means (statecode 3 with statuscode 30/31/32 is final). */
export function stateOfAsyncOperation(row: AsyncOperationStatus): JobState {
  if (row.statecode === 3) return row.statuscode === 30 ? 'succeeded' : row.statuscode === 32 ? 'canceled' : 'failed';
  return row.statecode === 2 || row.statuscode === 20 || row.statuscode === 21 || row.statuscode === 22
    ? 'running'
    : 'submitted';
}

export function isPastMaxWait(job: Pick<Job, 'submittedAt' | 'state'>, nowMs: number, maxWaitMinutes: number): boolean {
  if (job.state !== 'submitted' && job.state !== 'running') return false;
  const since = job.submittedAt ? Date.parse(job.submittedAt) : NaN;
  return Number.isFinite(since) && nowMs - since > maxWaitMinutes * 60_000;
}

export function outcomeOf(state: JobState): JobOutcome {
  if (!isTerminal(state)) throw new RangeError(`state '${state}' has no outcome yet`);
  return state as JobOutcome;
}

/** A batch ends when every child has; its outcome from theirs. */
export function batchOutcome(children: readonly JobState[]): {
  done: boolean;
  state?: JobState;
  counts: Record<string, number>;
} {
  const counts: Record<string, number> = {};
  for (const s of children) counts[s] = (counts[s] ?? 0) + 1;
  if (children.some((s) => !isTerminal(s))) return { done: false, counts };
  const succeeded = counts.succeeded ?? 0;
  const state: JobState =
    succeeded === children.length
      ? 'succeeded'
      : succeeded > 0
        ? 'partiallySucceeded'
        : children.every((s) => s === 'canceled')
          ? 'canceled'
          : 'failed';
  return { done: true, state, counts };
}

/**
 * In a batch that stops on error, a queued child must not start once an earlier one ended other than succeeded.
 * In one that goes on (a release with continueOnError), only a child whose required siblings (`requires`) ended
 * other than succeeded is held back. Returns the first such sibling.
 */
export function blockingPredecessor(
  siblings: readonly Pick<Job, 'id' | 'state' | 'batchIndex'>[],
  child: Pick<Job, 'batchIndex' | 'requires'>,
  continueOnError = false,
): Pick<Job, 'id' | 'state' | 'batchIndex'> | undefined {
  const blocks = (s: Pick<Job, 'state'>) => isTerminal(s.state) && s.state !== 'succeeded';
  if (continueOnError) {
    const required = new Set(requiredIds(child));
    return siblings.find((s) => required.has(s.id) && blocks(s));
  }
  return siblings
    .filter((s) => (s.batchIndex ?? 0) < (child.batchIndex ?? 0))
    .sort((a, b) => (a.batchIndex ?? 0) - (b.batchIndex ?? 0))
    .find(blocks);
}

const idListSchema = z.array(z.string());

/** A stored JSON list of job ids (`childIds`, `requires`); none when absent or not such a list. */
export function idsOf(json: string | undefined): string[] {
  if (!json) return [];
  const parsed = idListSchema.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : [];
}

/** The ids a release child requires (its `requires` JSON). */
export const requiredIds = (child: Pick<Job, 'requires'>): string[] => idsOf(child.requires);
