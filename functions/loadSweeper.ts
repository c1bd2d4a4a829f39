/** Timer (LOAD_SWEEP_SCHEDULE): resumes stalled loads and ends loads whose last worker crashed. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { triggerSettings } from '../shared/config/triggerSettings';
import { getLoadContext } from '../shared/loads/loadRuntime';
import { sweepLoads } from '../shared/loads/loadSweeper';
import { withInvocationLog } from '../shared/observability/invocationLog';

const settings = triggerSettings();

export function loadSweeper(_timer: Timer, context: InvocationContext): Promise<void> {
  return withInvocationLog(context, async (log) => {
    const report = await sweepLoads(getLoadContext());
    const acted =
      report.resumedScans.length + report.requeuedChunks.length + report.finalized.length + report.announced.length;
    if (acted > 0) log.info('Load sweep acted', { ...report });
  });
}

app.timer('loadSweeper', { schedule: settings.loads.sweepSchedule, handler: loadSweeper });
