/** Builds the load engine's context from clients; shared/app.ts calls it with the app's storage and connection. */
import type { QueueClient } from '@azure/storage-queue';
import type { DataverseClient } from '../dataverse/index';
import { createJobEventPublisher, encodeQueueMessage } from '../events/jobEvents';
import { createJobIndex } from '../storage/jobIndex';
import type { RequestBudget } from '../storage/requestMeter';
import type { StorageClients } from '../storage/storageClients';
import { createBlobSource } from './blobSource';
import { createThrottleTap, type ChunkQueue, type LoadContext, type LoadLogger } from './loadContext';
import { parseLoadQueueMessage } from './loadRecord';
import { createLoadStore } from './loadStore';
import { createInFileBindStore } from './inFileBinds';
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
  /** Webhook POSTs of the end events (tests). */
  fetch?: typeof fetch;
  now?: () => number;
  requestBudget?: RequestBudget;
  log?: LoadLogger;
}

/** Messages go base64-encoded, the encoding the Functions queue trigger expects by default. */
export function createChunkQueue(queue: QueueClient): ChunkQueue {
  return {
    async send(message, options) {
      const parsed = parseLoadQueueMessage(message);
      if (!parsed.success) throw parsed.error;
      await queue.sendMessage(
        encodeQueueMessage(parsed.data),
        options?.visibilityDelaySeconds ? { visibilityTimeout: options.visibilityDelaySeconds } : {},
      );
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
      ...(o.fetch ? { fetch: o.fetch } : {}),
    }),
    index: createJobIndex(o.storage.table(o.names.jobsTable)),
    inFileBinds: createInFileBindStore(o.storage.table(o.names.loadsTable)),
    container: o.names.container,
    resultsContainer: o.names.resultsContainer,
    chunkSize: Math.min(1000, o.chunkSize ?? 1000),
    maxFileBytes: o.maxFileBytes ?? 1024 ** 3,
    inlineScanMaxBytes: o.inlineScanMaxBytes ?? 4 * 1024 ** 2,
    stallMs: (o.stallSeconds ?? 300) * 1000,
    now: o.now ?? Date.now,
    takeThrottleCounts: createThrottleTap(o.client),
    ...(o.requestBudget ? { requestBudget: o.requestBudget } : {}),
    ...(o.log ? { log: o.log } : {}),
  };
}
