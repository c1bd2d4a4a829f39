/** Queue trigger on `dataverse-async` (ASYNC_QUEUE): records the job(s) and submits when the environment's lane is free. */
import { app, type InvocationContext } from '@azure/functions';
import { triggerSettings } from '../shared/config/triggerSettings';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';
import { receiveAsyncOperationMessage } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function asyncOperationQueue(item: unknown, context: InvocationContext): Promise<void> {
  const messageId = String(context.triggerMetadata?.id ?? context.invocationId);
  return withInvocationLog(
    context,
    async () => {
      await receiveAsyncOperationMessage(getJobRuntime(), item, { messageId });
    },
    { messageId },
  );
}

app.storageQueue('asyncOperationQueue', {
  queueName: settings.jobs.asyncQueue,
  connection: 'AzureWebJobsStorage',
  handler: asyncOperationQueue,
});
