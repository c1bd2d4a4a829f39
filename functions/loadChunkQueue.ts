/** Queue trigger on `load-chunks` (LOAD_CHUNK_QUEUE): one chunk of one load, an idempotent unit. */
import { app, type InvocationContext } from '@azure/functions';
import { decodeQueueMessage } from '../shared/events/jobEvents';
import { processChunk } from '../shared/loads/chunkWorker';
import { chunkMessageSchema } from '../shared/loads/loadRecord';
import { getLoadContext } from '../shared/loads/loadRuntime';

/** The engine outlives one invocation (it is cached per worker), so it logs to the worker's console, not to an invocation's context. */
const workerLog = { info: (m: string, d?: unknown) => console.log(m, d ?? ''), warn: (m: string, d?: unknown) => console.warn(m, d ?? '') };

/** host.json extensions.queues.maxDequeueCount: on the last delivery, failing rows are reported instead of poisoning. */
const maxDequeueCount = Number(process.env.AzureFunctionsJobHost__extensions__queues__maxDequeueCount || 5);

export async function loadChunkQueue(item: unknown, context: InvocationContext): Promise<void> {
  let raw: unknown = item;
  if (typeof item === 'string') {
    try {
      raw = decodeQueueMessage(item);
    } catch {
      raw = item;
    }
  }
  const message = chunkMessageSchema.safeParse(raw);
  if (!message.success) {
    // A message that can never be processed is dropped with a log line rather than retried into the poison queue.
    context.error(`load-chunks: not a chunk message, dropped: ${message.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return;
  }
  const attempt = Number(context.triggerMetadata?.dequeueCount ?? 1);
  const result = await processChunk(getLoadContext(process.env, workerLog), message.data, {
    attempt,
    maxAttempts: maxDequeueCount,
  });
  context.log(`load ${message.data.loadId} chunk ${message.data.chunkIndex}: ${result.kind}${'reason' in result ? ` (${result.reason})` : ''}`);
}

app.storageQueue('loadChunkQueue', { queueName: process.env.LOAD_CHUNK_QUEUE || 'load-chunks', connection: 'AzureWebJobsStorage', handler: loadChunkQueue });
