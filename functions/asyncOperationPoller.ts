/** Timer (ASYNC_POLL_SCHEDULE): one sweep over pending jobs (one asyncoperations query), then the lane advances. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function asyncOperationPoller(_timer: Timer, context: InvocationContext): Promise<void> {
  return withInvocationLog(context, async () => {
    await getApp().jobs.sweep(); // the sweep logs its own figures
  });
}

app.timer('asyncOperationPoller', { schedule: settings.jobs.pollSchedule, handler: asyncOperationPoller });
