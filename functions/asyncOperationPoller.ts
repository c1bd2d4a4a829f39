/** Timer: one sweep over pending jobs (one asyncoperations query), then the lane advances. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

export async function asyncOperationPoller(_timer: Timer, context: InvocationContext): Promise<void> {
  const result = await getJobRuntime().sweep();
  if (result.pending > 0) context.log(`sweep: ${result.pending} pending, ${result.polled} polled, ${result.ended} ended`);
}

app.timer('asyncOperationPoller', {
  schedule: process.env.ASYNC_POLL_SCHEDULE || '*/10 * * * * *',
  handler: asyncOperationPoller,
});
