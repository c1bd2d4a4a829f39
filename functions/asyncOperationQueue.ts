/** Queue trigger on `dataverse-async`: records the job(s) and submits when the environment's lane is free. */
import { app, type InvocationContext } from '@azure/functions';
import { decodeQueueMessage } from '../shared/events/jobEvents';
import { advanceLane } from '../shared/jobs/jobLane';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

export async function asyncOperationQueue(item: unknown, context: InvocationContext): Promise<void> {
  const runtime = getJobRuntime();
  let raw: unknown = item;
  if (typeof item === 'string') {
    try {
      raw = decodeQueueMessage(item);
    } catch {
      raw = item; // not JSON: recorded as rejected with the reason
    }
  }
  const messageId = String(context.triggerMetadata?.id ?? context.invocationId);
  // Recording is idempotent; a storage failure here throws so the message is retried.
  const result = await runtime.accept(raw, { defaultJobId: messageId, source: 'queue' }, { advance: false });
  context.log(`job ${result.jobId} ${result.state}${result.reason ? `: ${result.reason}` : ''}`);
  // The job is recorded: a failed submit must not burn the message's dequeue count; the poller tries again.
  await advanceLane(runtime.context).catch((error) => context.warn(`submission deferred to the poller: ${String(error)}`));
}

app.storageQueue('asyncOperationQueue', {
  queueName: process.env.ASYNC_QUEUE || 'dataverse-async',
  connection: 'AzureWebJobsStorage',
  handler: asyncOperationQueue,
});
