/**
 * Blob trigger on `incoming/{table}/{name}` (LOAD_CONTAINER): a dropped file starts a load. This invocation only
 * records the load, checks the file's start and queues a scan message: the host hands over the whole blob as its
 * input, so the scan (which streams the blob itself, pinned to its ETag) runs in a queue invocation instead.
 * Bad files end as failed loads; unsafe names are rejected; only infrastructure errors are thrown (and retried).
 */
import { app, type InvocationContext } from '@azure/functions';
import { triggerSettings } from '../shared/config/triggerSettings';
import { getLoadContext } from '../shared/loads/loadRuntime';
import { receiveDroppedFile } from '../shared/loads/loadTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();
const container = settings.loads.container;

export function loadBlobTrigger(_content: unknown, context: InvocationContext): Promise<void> {
  const table = String(context.triggerMetadata?.table ?? '');
  const name = String(context.triggerMetadata?.name ?? '');
  return withInvocationLog(context, async () => {
    await receiveDroppedFile(getLoadContext(), { container, table, name });
  });
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('loadBlobTrigger', { path: `${container}/{table}/{name}`, source: 'EventGrid', connection: 'AzureWebJobsStorage', handler: loadBlobTrigger });
