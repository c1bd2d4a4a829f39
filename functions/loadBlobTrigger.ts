/**
 * Blob trigger on `incoming/{table}/{name}` (LOAD_CONTAINER): a dropped file starts a load. Bound by reference
 * (`sdkBinding`): the host sends the blob's name, not its bytes. This invocation records the load and checks the
 * file's start; it chunks a small file itself, and for a larger one returns a scan message (queue output binding)
 * so the scan streams the blob (pinned to its ETag) in a queue invocation.
 * Bad files end as failed loads; unsafe names are rejected; only infrastructure errors are thrown (and retried).
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, output, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { receiveDroppedFile } from '../shared/loads/loadTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';
import { registerBlobReferenceFactory, triggeringBlob } from '../shared/storage/blobReference';

const settings = triggerSettings();
const container = settings.loads.container;
// The scan message of a large file: written by the host when the invocation succeeds, and it wakes the queue's listener.
const scanMessages = output.storageQueue({ queueName: settings.loads.chunkQueue, connection: 'AzureWebJobsStorage' });
registerBlobReferenceFactory();

export function loadBlobTrigger(blob: unknown, context: InvocationContext): Promise<void> {
  return withInvocationLog(context, async () => {
    const { blobName } = triggeringBlob(blob, context.triggerMetadata);
    const slash = blobName.indexOf('/');
    await receiveDroppedFile(
      getApp().loads,
      { container, table: blobName.slice(0, slash), name: blobName.slice(slash + 1) },
      { queueScan: (message) => context.extraOutputs.set(scanMessages, message) },
    );
  });
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('loadBlobTrigger', {
  path: `${container}/{table}/{name}`,
  source: 'EventGrid',
  sdkBinding: true,
  connection: 'AzureWebJobsStorage',
  extraOutputs: [scanMessages],
  handler: loadBlobTrigger,
});
