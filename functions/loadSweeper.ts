/** Timer (LOAD_SWEEP_SCHEDULE): resumes stalled loads and ends loads whose last worker crashed; advances stalled plans. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getApp } from '../shared/app';
import { triggerSettings } from '../shared/config/triggerSettings';
import { sweepLoads } from '../shared/loads/loadSweeper';
import { sweepPlans } from '../shared/planLoads/planSweep';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function loadSweeper(_timer: Timer, context: InvocationContext): Promise<void> {
  return withInvocationLog(context, async (log) => {
    const report = await sweepLoads(getApp().loads);
    const acted =
      report.resumedScans.length + report.requeuedChunks.length + report.finalized.length + report.announced.length;
    if (acted > 0) log.info('Load sweep acted', { ...report });
    const plans = await sweepPlans(getApp().plans);
    if (plans.prepared.length + plans.advanced.length + plans.announced.length > 0)
      log.info('Plan sweep acted', { ...plans });
  });
}

app.timer('loadSweeper', { schedule: settings.loads.sweepSchedule, handler: loadSweeper });
