/**
 * Blob trigger on `solutions/{name}`: a dropped zip enqueues an ImportSolution. Options come from blob metadata
 * (keys named like the message fields, matched case-insensitively, e.g. `stageandupgrade=true`)
 * or from a sidecar `<name>.json` (a JSON object of options, `settings` included); the sidecar wins.
 */
import { app, type InvocationContext } from '@azure/functions';
import { encodeQueueMessage } from '../shared/events/jobEvents';
import { isDroppedSolution, optionsFromStrings } from '../shared/jobs/importRequest';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

const container = process.env.SOLUTIONS_CONTAINER || 'solutions';

export async function solutionBlobTrigger(_blob: unknown, context: InvocationContext): Promise<void> {
  const name = String(context.triggerMetadata?.name ?? '');
  if (!isDroppedSolution(name)) return;
  const runtime = getJobRuntime();
  const containerClient = runtime.solutionsContainer();
  const properties = await containerClient.getBlobClient(name).getProperties();
  let sidecar: Record<string, unknown> = {};
  const sidecarBlob = containerClient.getBlobClient(`${name.replace(/\.zip$/i, '')}.json`);
  if (await sidecarBlob.exists()) {
    const parsed: unknown = JSON.parse((await sidecarBlob.downloadToBuffer()).toString('utf8').replace(/^\uFEFF/, ''));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) sidecar = parsed as Record<string, unknown>;
  }
  const message = { kind: 'ImportSolution', ...optionsFromStrings(properties.metadata ?? {}), ...sidecar, solution: { container: runtime.names.solutionsContainer, name } };
  await runtime.asyncQueue().sendMessage(encodeQueueMessage(message));
  context.log(`solution ${name} queued for import`);
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('solutionBlobTrigger', { path: `${container}/{name}`, source: 'EventGrid', connection: 'AzureWebJobsStorage', handler: solutionBlobTrigger });
