/**
 * Blob trigger on `solutions/{name}` (SOLUTIONS_CONTAINER): a dropped zip enqueues an ImportSolution, with
 * options from blob metadata or a sidecar `<name>.json` (see receiveDroppedSolution).
 */
import { app, type InvocationContext } from '@azure/functions';
import { triggerSettings } from '../shared/config/triggerSettings';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';
import { receiveDroppedSolution } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();
const container = settings.jobs.solutionsContainer;

export function solutionBlobTrigger(_blob: unknown, context: InvocationContext): Promise<void> {
  const name = String(context.triggerMetadata?.name ?? '');
  return withInvocationLog(context, async () => {
    await receiveDroppedSolution(getJobRuntime(), name);
  });
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('solutionBlobTrigger', { path: `${container}/{name}`, source: 'EventGrid', connection: 'AzureWebJobsStorage', handler: solutionBlobTrigger });
