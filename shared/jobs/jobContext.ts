/** What the job engine's parts share: storage, Dataverse, events, clock. */
import type { JobEventPublisher } from '../events/jobEvents';
import type { AsyncOperationApi } from './asyncOperationApi';
import type { JobIndex } from '../storage/jobIndex';
import type { JobStore } from './jobStore';
import type { BlobReader } from './solutionBlobs';
import type { SolutionPackageLimits } from './solutionPackage';

export interface JobLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  /** shared/observability Logger has it; small test loggers may not. */
  error?(message: string, data?: Record<string, unknown>): void;
}

export interface JobContext {
  store: JobStore;
  index: JobIndex;
  events: JobEventPublisher;
  api: AsyncOperationApi;
  blobs: BlobReader;
  /** DATAVERSE_URL: the one lane this app instance submits to. */
  environment: string;
  maxWaitMinutes: number;
  /** Relative status URL of a job (`/api/imports/{id}`, a release's `/api/releases/{id}`). */
  statusUrl: (id: string, kind?: string) => string;
  limits?: SolutionPackageLimits;
  /** A lane claimed by a job still queued longer than this is taken back (the claimer crashed mid-submit). Default 10 min. */
  staleClaimMs: number;
  now: () => number;
  newId: () => string;
  log?: JobLogger;
}

export const isoAt = (ms: number): string => new Date(ms).toISOString();
