/**
 * Job entities and per-environment lanes in the jobs table. Every change is ETag-conditional, so when several
 * host instances run the poller each transition happens once.
 */
import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { JOB_PARTITION, fromEntity, toEntity, pendingStates, type Job } from './jobRecord';
import { ConflictError, isRestErrorWithStatus } from '../errors';

export const LANE_PARTITION = 'lane';

export interface StoredJob {
  job: Job;
  etag: string;
}

export interface Lane {
  environment: string;
  /** The job holding the lane ('' when free). */
  holderJobId: string;
  claimedAt?: string;
  etag: string;
}

export class JobConflictError extends ConflictError {
  override readonly name = 'JobConflictError';
  constructor(message: string) {
    super('JobChanged', message);
  }
}

export function laneKey(environment: string): string {
  return createHash('sha256').update(environment.toLowerCase().replace(/\/+$/, '')).digest('hex').slice(0, 32);
}

export interface JobStore {
  /** Creates the job; when it exists already (a redelivered message), returns the stored one. */
  create(job: Job): Promise<{ created: boolean; stored: StoredJob }>;
  get(id: string): Promise<StoredJob | undefined>;
  /** Merges the patch if the job still has this ETag; throws JobConflictError otherwise. */
  update(id: string, etag: string, patch: Partial<Job>): Promise<StoredJob>;
  /** Queued, submitted and running jobs, in lane order. */
  listPending(options?: { environment?: string }): Promise<StoredJob[]>;
  listBatchChildren(batchId: string): Promise<StoredJob[]>;
  /** Ended jobs whose end event is recorded but not yet published (the outbox). */
  listUnpublishedEvents(options?: { environment?: string }): Promise<StoredJob[]>;
  getLane(environment: string): Promise<Lane>;
  /** Sets the holder if the lane still has this ETag; returns false when someone else changed it. */
  setLaneHolder(lane: Lane, holderJobId: string, at: string): Promise<boolean>;
}

function stored(entity: Record<string, unknown>): StoredJob {
  return { job: fromEntity(entity), etag: String(entity.etag) };
}

export function createJobStore(table: TableClient): JobStore {
  async function listWhere(filter: string): Promise<StoredJob[]> {
    const out: StoredJob[] = [];
    for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
      out.push(stored(entity));
    return out.sort((a, b) => (a.job.laneSeq < b.job.laneSeq ? -1 : a.job.laneSeq > b.job.laneSeq ? 1 : 0));
  }

  const store: JobStore = {
    async create(job) {
      try {
        const response = await table.createEntity(toEntity(job));
        return { created: true, stored: { job, etag: String(response.etag) } };
      } catch (error) {
        if (!isRestErrorWithStatus(error, 409)) throw error;
        const existing = await store.get(job.id);
        if (!existing) throw error;
        return { created: false, stored: existing };
      }
    },

    async get(id) {
      try {
        return stored(await table.getEntity<Record<string, unknown>>(JOB_PARTITION, id));
      } catch (error) {
        if (isRestErrorWithStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async update(id, etag, patch) {
      try {
        await table.updateEntity(toEntity({ ...patch, id }), 'Merge', { etag });
      } catch (error) {
        if (isRestErrorWithStatus(error, 412, 404)) throw new JobConflictError(`Job ${id} changed meanwhile`);
        throw error;
      }
      const after = await store.get(id);
      if (!after) throw new JobConflictError(`Job ${id} disappeared`);
      return after;
    },

    async listPending(options = {}) {
      const states = pendingStates.map((s) => odata`state eq ${s}`).join(' or ');
      const env = options.environment !== undefined ? odata` and environment eq ${options.environment}` : '';
      return listWhere(`${odata`PartitionKey eq ${JOB_PARTITION}`} and (${states})${env}`);
    },

    async listBatchChildren(batchId) {
      const children = await listWhere(odata`PartitionKey eq ${JOB_PARTITION} and batchId eq ${batchId}`);
      return children.sort((a, b) => (a.job.batchIndex ?? 0) - (b.job.batchIndex ?? 0));
    },

    async listUnpublishedEvents(options = {}) {
      const env = options.environment !== undefined ? odata` and environment eq ${options.environment}` : '';
      return listWhere(odata`PartitionKey eq ${JOB_PARTITION} and eventPublished eq false` + env);
    },

    async getLane(environment) {
      const rowKey = laneKey(environment);
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const entity = await table.getEntity<Record<string, unknown>>(LANE_PARTITION, rowKey);
          return {
            environment,
            holderJobId: typeof entity.holderJobId === 'string' ? entity.holderJobId : '',
            claimedAt: typeof entity.claimedAt === 'string' ? entity.claimedAt : undefined,
            etag: String(entity.etag),
          };
        } catch (error) {
          if (!isRestErrorWithStatus(error, 404)) throw error;
        }
        try {
          await table.createEntity({ partitionKey: LANE_PARTITION, rowKey, environment, holderJobId: '' });
        } catch (error) {
          if (!isRestErrorWithStatus(error, 409)) throw error;
        }
      }
      throw new Error(`Lane of ${environment} could not be read`);
    },

    async setLaneHolder(lane, holderJobId, at) {
      try {
        await table.updateEntity(
          {
            partitionKey: LANE_PARTITION,
            rowKey: laneKey(lane.environment),
            environment: lane.environment,
            holderJobId,
            claimedAt: at,
          },
          'Replace',
          { etag: lane.etag },
        );
        return true;
      } catch (error) {
        if (isRestErrorWithStatus(error, 412)) return false;
        throw error;
      }
    },
  };
  return store;
}
