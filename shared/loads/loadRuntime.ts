/** Builds the load engine's context from clients (tests) or from app settings (the functions, once per worker). */
import type { QueueClient } from '@azure/storage-queue';
import { loadSettings } from '../config/settings';
import type { AccessTokenSource } from '../dataverse/auth/accessTokenSource';
import { createAccessTokenSource, type AccessTokenSourceOptions } from '../dataverse/auth/createAccessTokenSource';
import { createDataverseClient, type DataverseClient } from '../dataverse/index';
import { createJobEventPublisher, encodeQueueMessage } from '../events/jobEvents';
import { createJobIndex } from '../jobs/jobIndex';
import { createScopedLogger } from '../observability/logScope';
import { createStorageClients, storageConnectionFromEnv, type StorageClients } from '../storage/storageClients';
import { createBlobSource } from './blobSource';
import { createThrottleTap, type ChunkQueue, type LoadContext, type LoadLogger } from './loadContext';
import { parseLoadQueueMessage } from './loadRecord';
import { createLoadStore } from './loadStore';
import { createTableMetadataSource } from './tableMetadataSource';

export interface LoadContextOptions {
  storage: StorageClients;
  client: DataverseClient;
  names: {
    container: string;
    resultsContainer: string;
    chunkQueue: string;
    loadsTable: string;
    loadRowsTable: string;
    jobsTable: string;
    eventsQueue: string;
  };
  chunkSize?: number;
  maxFileBytes?: number;
  /** LOAD_INLINE_SCAN_MAX_BYTES; default 4 MiB. */
  inlineScanMaxBytes?: number;
  stallSeconds?: number;
  webhookUrl?: string;
  now?: () => number;
  log?: LoadLogger;
}

/** Messages go base64-encoded, the encoding the Functions queue trigger expects by default. */
export function createChunkQueue(queue: QueueClient): ChunkQueue {
  return {
    async send(message) {
      const parsed = parseLoadQueueMessage(message);
      if (!parsed.success) throw parsed.error;
      await queue.sendMessage(encodeQueueMessage(parsed.data));
    },
  };
}

export function createLoadContext(o: LoadContextOptions): LoadContext {
  return {
    store: createLoadStore({
      loads: o.storage.table(o.names.loadsTable),
      loadRows: o.storage.table(o.names.loadRowsTable),
    }),
    blobs: createBlobSource(o.storage.blobService),
    client: o.client,
    metadata: createTableMetadataSource(o.client),
    chunkQueue: createChunkQueue(o.storage.queueService.getQueueClient(o.names.chunkQueue)),
    events: createJobEventPublisher({
      queueClient: o.storage.queueService.getQueueClient(o.names.eventsQueue),
      ...(o.webhookUrl ? { webhookUrl: o.webhookUrl } : {}),
    }),
    index: createJobIndex(o.storage.table(o.names.jobsTable)),
    container: o.names.container,
    resultsContainer: o.names.resultsContainer,
    chunkSize: Math.min(1000, o.chunkSize ?? 1000),
    maxFileBytes: o.maxFileBytes ?? 1024 ** 3,
    inlineScanMaxBytes: o.inlineScanMaxBytes ?? 4 * 1024 ** 2,
    stallMs: (o.stallSeconds ?? 300) * 1000,
    now: o.now ?? Date.now,
    takeThrottleCounts: createThrottleTap(o.client),
    ...(o.log ? { log: o.log } : {}),
  };
}

let cached: LoadContext | undefined;

export interface LoadContextFromSettingsOptions {
  log?: LoadLogger;
  /** Passed to msal-node (tests send token requests to the local identity). Never a setting. */
  accessToken?: Pick<AccessTokenSourceOptions, 'networkClient' | 'logLevel'>;
  /** Wraps the token source (tests record the tokens issued, to scan logs for them). */
  wrapAccessTokenSource?: (source: AccessTokenSource) => AccessTokenSource;
}

/** The production wiring from app settings, uncached: the functions use `getLoadContext`, tests call this. */
export function loadContextFromSettings(
  env: Record<string, string | undefined>,
  options: LoadContextFromSettingsOptions = {},
): LoadContext {
  const settings = loadSettings(env);
  // The context outlives invocations: its logger writes to whichever invocation's log scope it is called in.
  const log = options.log ?? createScopedLogger({ level: settings.logging.level });
  const tokenSource = createAccessTokenSource(settings, {
    ...options.accessToken,
    log: (level, message) =>
      level === 'error' || level === 'warning' ? log.warn(`msal: ${message}`) : log.info(`msal: ${message}`),
  });
  const client = createDataverseClient({
    webApiUrl: `${settings.dataverse.url.replace(/\/+$/, '')}/api/data/v9.2/`,
    accessTokenSource: options.wrapAccessTokenSource ? options.wrapAccessTokenSource(tokenSource) : tokenSource,
    maxBatchSize: settings.dataverse.maxBatchSize,
    maxConcurrency: settings.dataverse.maxConcurrency,
    logger: log,
  });
  const loads = settings.loads;
  return createLoadContext({
    storage: createStorageClients(storageConnectionFromEnv(env)),
    client,
    names: {
      container: loads.container,
      resultsContainer: loads.resultsContainer,
      chunkQueue: loads.chunkQueue,
      loadsTable: loads.loadsTable,
      loadRowsTable: loads.loadRowsTable,
      jobsTable: settings.jobs.jobsTable,
      eventsQueue: settings.jobs.eventsQueue,
    },
    chunkSize: loads.chunkSize,
    maxFileBytes: loads.maxFileBytes,
    inlineScanMaxBytes: loads.inlineScanMaxBytes,
    stallSeconds: loads.stallSeconds,
    ...(settings.jobs.eventsWebhookUrl ? { webhookUrl: settings.jobs.eventsWebhookUrl.reveal() } : {}),
    log,
  });
}

/** The context the load functions share, built from app settings on first use. */
export function getLoadContext(env: Record<string, string | undefined> = process.env, log?: LoadLogger): LoadContext {
  cached ??= loadContextFromSettings(env, log ? { log } : {});
  return cached;
}
