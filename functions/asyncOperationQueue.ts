/** Queue trigger on `dataverse-async` (ASYNC_QUEUE): records the job(s) and submits when the environment's lane is free. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { receiveAsyncOperationMessage } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function asyncOperationQueue(item: unknown, context: InvocationContext): Promise<void> {
  const id = context.triggerMetadata?.id;
  const messageId = typeof id === 'string' ? id : context.invocationId;
  return withInvocationLog(
    context,
    async () => {
      await receiveAsyncOperationMessage(getApp().jobs, item, { messageId });
    },
    { messageId },
  );
}

app.storageQueue('asyncOperationQueue', {
  queueName: settings.jobs.asyncQueue,
  connection: 'AzureWebJobsStorage',
  handler: asyncOperationQueue,
});
