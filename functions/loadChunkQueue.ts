/** Queue trigger on `load-chunks` (LOAD_CHUNK_QUEUE): one chunk of one load, or the scan of a load's file; idempotent units. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { receiveLoadQueueMessage } from '../shared/loads/loadTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function loadChunkQueue(item: unknown, context: InvocationContext): Promise<void> {
  const attempt = Number(context.triggerMetadata?.dequeueCount ?? 1);
  return withInvocationLog(context, async () => {
    // On the last delivery (host.json maxDequeueCount), failing rows are reported instead of poisoning the message.
    await receiveLoadQueueMessage(getApp().loads, item, { attempt, maxAttempts: settings.loads.maxChunkAttempts });
  });
}

app.storageQueue('loadChunkQueue', {
  queueName: settings.loads.chunkQueue,
  connection: 'AzureWebJobsStorage',
  handler: loadChunkQueue,
});
