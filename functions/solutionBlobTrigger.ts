/**
 * Blob trigger on `solutions/{name}` (SOLUTIONS_CONTAINER): a dropped zip enqueues an ImportSolution, with
 * options from blob metadata or a sidecar `<name>.json` (see receiveDroppedSolution). Bound by reference
 * (`sdkBinding`): the zip is read when the import is submitted, not handed to this invocation.
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { receiveDroppedSolution } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';
import { registerBlobReferenceFactory, triggeringBlob } from '../shared/storage/blobReference';

const settings = triggerSettings();
const container = settings.jobs.solutionsContainer;
registerBlobReferenceFactory();

export function solutionBlobTrigger(blob: unknown, context: InvocationContext): Promise<void> {
  return withInvocationLog(context, async () => {
    await receiveDroppedSolution(getApp().jobs, triggeringBlob(blob, context.triggerMetadata).blobName);
  });
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('solutionBlobTrigger', {
  path: `${container}/{name}`,
  source: 'EventGrid',
  sdkBinding: true,
  connection: 'AzureWebJobsStorage',
  handler: solutionBlobTrigger,
});
