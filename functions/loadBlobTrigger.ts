/**
 * Blob trigger on `incoming/{table}/{name}` (LOAD_CONTAINER): a dropped file starts a load. The engine reads
 * the blob itself (streamed, pinned to its ETag), so the content the host hands over is not used. Bad files end
 * as failed loads inside `startLoad`; only infrastructure errors are thrown (and retried by the host).
 */
import { app, type InvocationContext } from '@azure/functions';
import { getLoadContext } from '../shared/loads/loadRuntime';

/** The engine outlives one invocation (it is cached per worker), so it logs to the worker's console, not to an invocation's context. */
const workerLog = { info: (m: string, d?: unknown) => console.log(m, d ?? ''), warn: (m: string, d?: unknown) => console.warn(m, d ?? '') };
import { startLoad } from '../shared/loads/loadScan';

const container = process.env.LOAD_CONTAINER || 'incoming';

export async function loadBlobTrigger(_content: unknown, context: InvocationContext): Promise<void> {
  const table = String(context.triggerMetadata?.table ?? '');
  const name = String(context.triggerMetadata?.name ?? '');
  const result = await startLoad(getLoadContext(process.env, workerLog), {
    container,
    name: `${table}/${name}`,
  });
  if (result.kind === 'ignored') context.log(`${container}/${table}/${name} ignored: ${result.reason}`);
  else if ('record' in result) context.log(`load ${result.record.id} (${container}/${table}/${name}): ${result.kind}, status ${result.record.status}`);
}

// source 'EventGrid': Flex Consumption runs only Event Grid–sourced blob triggers (infra/eventgrid/subscriptions.bicep); locally the host scans.
app.storageBlob('loadBlobTrigger', { path: `${container}/{table}/{name}`, source: 'EventGrid', connection: 'AzureWebJobsStorage', handler: loadBlobTrigger });
