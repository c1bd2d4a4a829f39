/** Timer (LOAD_SWEEP_SCHEDULE): resumes stalled loads and ends loads whose last worker crashed. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getLoadContext } from '../shared/loads/loadRuntime';

/** The engine outlives one invocation (it is cached per worker), so it logs to the worker's console, not to an invocation's context. */
const workerLog = { info: (m: string, d?: unknown) => console.log(m, d ?? ''), warn: (m: string, d?: unknown) => console.warn(m, d ?? '') };
import { sweepLoads } from '../shared/loads/loadSweeper';

export async function loadSweeper(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await sweepLoads(getLoadContext(process.env, workerLog));
  const acted = report.resumedScans.length + report.requeuedChunks.length + report.finalized.length + report.announced.length;
  if (acted > 0) context.log(`load sweep: ${JSON.stringify(report)}`);
}

app.timer('loadSweeper', { schedule: process.env.LOAD_SWEEP_SCHEDULE || '0 */1 * * * *', handler: loadSweeper });
