/**
 * The load engine over real parts: Azurite (the host's launcher, in memory) and the Dataverse emulator over
 * HTTP, assembled by the app's composition root (`createApp`) from settings and injected storage and connection
 * options. `drain()` plays the load-chunks queue trigger: it handles scan and chunk messages until the queue is empty.
 */
import { startAzurite, type AzuriteHandle } from '../../../dev/azurite';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../../../dev/emulator/index';
import { createAppStorage } from '../../../dev/host/localStack';
import { createApp, type App, type DataverseConnectionOptions } from '../../../shared/app';
import { loadSettings } from '../../../shared/config/settings';
import { decodeQueueMessage } from '../../../shared/events/jobEvents';
import type { LoadContext } from '../../../shared/loads/loadContext';
import { receiveLoadQueueMessage } from '../../../shared/loads/loadTriggers';
import { createStorageClients, type StorageClients } from '../../../shared/storage/storageClients';

export const names = {
  container: 'incoming',
  resultsContainer: 'load-results',
  chunkQueue: 'load-chunks',
  loadsTable: 'loads',
  loadRowsTable: 'loadrows',
  jobsTable: 'jobs',
  eventsQueue: 'job-events',
};

export interface LoadFixture {
  azurite: AzuriteHandle;
  emulator: EmulatorHandle;
  storage: StorageClients;
  app: App;
  ctx: LoadContext;
  drop(
    name: string,
    content: string | Buffer,
    options?: { metadata?: Record<string, string>; contentType?: string },
  ): Promise<void>;
  /** Handles scan and chunk messages until none is left; returns how many were handled. */
  drain(options?: { attempt?: number }): Promise<number>;
  events(): Promise<{ id: string; outcome: string; counts?: Record<string, number> }[]>;
  resultsText(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startLoadFixture(
  options: {
    emulator?: EmulatorOptions;
    maxFileBytes?: number;
    chunkSize?: number;
    /** More app settings (names default as in production). */
    settings?: Record<string, string>;
    dataverse?: DataverseConnectionOptions;
  } = {},
): Promise<LoadFixture> {
  const azurite = await startAzurite();
  const emulator = await startEmulator(options.emulator ?? {});
  await createAppStorage(azurite.connectionString, { LOAD_CONTAINER: 'incoming' });
  const storage = createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString });
  const settings = loadSettings({
    AzureWebJobsStorage: azurite.connectionString,
    DATAVERSE_URL: emulator.url,
    DATAVERSE_MAX_CONCURRENCY: '16',
    LOG_LEVEL: 'error',
    LOAD_CHUNK_SIZE: String(options.chunkSize ?? 1000),
    LOAD_MAX_FILE_BYTES: String(options.maxFileBytes ?? 1024 ** 3),
    ...options.settings,
  });
  const app = createApp({
    settings,
    storage,
    dataverse: { accessTokenSource: { getAccessToken: () => Promise.resolve('test-token') }, ...options.dataverse },
  });
  const ctx = app.loads;
  const queue = storage.queueService.getQueueClient(names.chunkQueue);
  return {
    azurite,
    emulator,
    storage,
    app,
    ctx,
    async drop(name, content, o = {}) {
      const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      await storage.blobService
        .getContainerClient('incoming')
        .getBlockBlobClient(name)
        .uploadData(body, {
          ...(o.metadata ? { metadata: o.metadata } : {}),
          ...(o.contentType ? { blobHTTPHeaders: { blobContentType: o.contentType } } : {}),
        });
    },
    async drain(o = {}) {
      let processed = 0;
      for (;;) {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
        if (receivedMessageItems.length === 0) return processed;
        for (const m of receivedMessageItems) {
          const result = await receiveLoadQueueMessage(ctx, m.messageText, {
            attempt: o.attempt ?? m.dequeueCount,
            maxAttempts: 5,
          });
          if (result.kind === 'rejected') throw new Error(`queue message rejected: ${result.reason}`);
          await queue.deleteMessage(m.messageId, m.popReceipt);
          processed++;
        }
      }
    },
    async events() {
      const events = storage.queueService.getQueueClient(names.eventsQueue);
      const { peekedMessageItems } = await events.peekMessages({ numberOfMessages: 32 });
      return peekedMessageItems.map(
        (m) => decodeQueueMessage(m.messageText) as { id: string; outcome: string; counts?: Record<string, number> },
      );
    },
    async resultsText(name) {
      return (
        await storage.blobService.getContainerClient(names.resultsContainer).getBlockBlobClient(name).downloadToBuffer()
      ).toString('utf8');
    },
    async close() {
      await emulator.close();
      await azurite.stop();
    },
  };
}
