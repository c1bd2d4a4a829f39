/**
 * Builds the job engine from settings and clients: what each function (queue, timer, HTTP, blob) calls.
 */
import { randomUUID } from 'node:crypto';
import { createJobEventPublisher, encodeQueueMessage } from '../events/jobEvents';
import type { StorageClients } from '../storage/storageClients';
import { createAsyncOperationApi, type SendWebApiRequest } from './asyncOperationApi';
import { acceptMessage, type AcceptMeta } from './jobAcceptance';
import { sweepAsyncOperations } from './asyncOperationPoller';
import { cancelJob } from './jobCancellation';
import { createJobIndex, type JobIndex } from '../storage/jobIndex';
import { createJobStore } from './jobStore';
import type { JobContext, JobLogger } from './jobContext';
import { createSolutionBlobs } from './solutionBlobs';
import { defaultSolutionPackageLimits, type SolutionPackageLimits } from './solutionPackage';

export interface JobRuntimeOptions {
  storage: StorageClients;
  /** The Dataverse client's `send` (DataverseClient.send). */
  send: SendWebApiRequest;
  /** DATAVERSE_URL */
  environment: string;
  names: { jobsTable: string; eventsQueue: string; asyncQueue: string; solutionsContainer: string };
  maxWaitMinutes: number;
  webhookUrl?: string;
  fetch?: typeof fetch;
  limits?: Partial<SolutionPackageLimits>;
  now?: () => number;
  log?: JobLogger;
  /** IMPORTS_MAX_BODY_BYTES: largest POST /api/imports body (default 100 MiB). */
  maxImportBodyBytes?: number;
}

export function createJobRuntime(options: JobRuntimeOptions) {
  const table = options.storage.table(options.names.jobsTable);
  const limits = { ...defaultSolutionPackageLimits, ...options.limits };
  const solutions = createSolutionBlobs(
    options.storage.blobService,
    options.names.solutionsContainer,
    limits.maxZipBytes,
  );
  const asyncQueue = options.storage.queueService.getQueueClient(options.names.asyncQueue);
  const ctx: JobContext = {
    store: createJobStore(table),
    index: createJobIndex(table),
    events: createJobEventPublisher({
      queueClient: options.storage.queueService.getQueueClient(options.names.eventsQueue),
      ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
    api: createAsyncOperationApi(options.send),
    blobs: solutions,
    environment: options.environment.replace(/\/+$/, ''),
    maxWaitMinutes: options.maxWaitMinutes,
    statusUrl: (id, kind) => `/api/${kind === 'Release' ? 'releases' : 'imports'}/${encodeURIComponent(id)}`,
    limits,
    staleClaimMs: 10 * 60_000,
    now: options.now ?? Date.now,
    newId: randomUUID,
    ...(options.log ? { log: options.log } : {}),
  };
  return {
    context: ctx,
    names: options.names,
    maxImportBodyBytes: options.maxImportBodyBytes ?? 100 * 1024 ** 2,
    accept: (raw: unknown, meta: AcceptMeta, o?: { advance?: boolean }) => acceptMessage(ctx, raw, meta, o),
    sweep: () => sweepAsyncOperations(ctx),
    cancel: (id: string) => cancelJob(ctx, id),
    getJob: async (id: string) => (await ctx.store.get(id))?.job,
    listJobs: (o?: Parameters<JobIndex['listJobs']>[0]) => ctx.index.listJobs(o),
    solutions,
    /** Sends a job request to ASYNC_QUEUE, base64 JSON as the queue trigger reads it. */
    queueJobMessage: async (message: Record<string, unknown>) => {
      await asyncQueue.sendMessage(encodeQueueMessage(message));
    },
  };
}
export type JobRuntime = ReturnType<typeof createJobRuntime>;
