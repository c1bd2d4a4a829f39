/**
 * A plan's table load (shared/planLoads): an ordinary load whose table is given by the plan, not by the blob's
 * first folder (its file is staged under `_plans/<planId>/<table>/`), and which carries the plan's id and the
 * lookup columns whose binds wait for the plan. The plan derives the load id, so starting it twice is one load:
 * the second call finds the record and does nothing.
 */
import { addLogFields } from '../observability/logScope';
import { indexLoad, isoAt, type LoadContext } from './loadContext';
import { newLoadRecord, type LoadRecord } from './loadRecord';
import { scanLoad } from './loadScan';

export interface PlanLoadStart {
  loadId: string;
  planId: string;
  /** The table's logical name. */
  table: string;
  container: string;
  blobName: string;
  /** The file's lookup columns bound after the plan's last stage (a cycle's deferred lookup). */
  crossTableBinds?: readonly string[];
}

/**
 * Records the load (running) and scans its file, here when it is small or through a scan message; an existing load
 * is left as it is.
 */
export async function startPlanLoad(
  ctx: LoadContext,
  start: PlanLoadStart,
): Promise<{ created: boolean; record: LoadRecord }> {
  addLogFields({ loadId: start.loadId });
  const now = isoAt(ctx.now());
  const { created, record } = await ctx.store.createIfAbsent({
    ...newLoadRecord(
      {
        id: start.loadId,
        status: 'running',
        table: start.table,
        container: start.container,
        blobName: start.blobName,
        source: 'plan',
        startedAt: now,
      },
      now,
    ),
    planId: start.planId,
    ...(start.crossTableBinds && start.crossTableBinds.length > 0
      ? { crossTableBinds: [...start.crossTableBinds] }
      : {}),
  });
  if (!created) return { created, record };
  await indexLoad(ctx, record);
  ctx.log?.info('Plan load started', { loadId: start.loadId, planId: start.planId, table: start.table });
  return { created, record: (await scanHere(ctx, start)) ?? record };
}

/**
 * A staged file up to `inlineScanMaxBytes` is scanned in this call, as acceptLoad does with a small dropped file: a
 * stage's loads then send their chunks without first waiting for a scan message, which the queue listener would
 * pick up only at its next poll (up to maxPollingInterval), once per stage. A larger file, or a scan that fails on
 * something other than the file, gets a scan message and the queue's retries. A crash before that message leaves a
 * running load without a scan: the load sweeper queues it after the stall.
 */
async function scanHere(ctx: LoadContext, start: PlanLoadStart): Promise<LoadRecord | undefined> {
  const file = await ctx.blobs.properties(start.container, start.blobName);
  if (file && file.contentLength <= ctx.inlineScanMaxBytes) {
    try {
      const scanned = await scanLoad(ctx, start.loadId);
      return 'record' in scanned ? scanned.record : undefined;
    } catch (error) {
      ctx.log?.warn('Plan load not scanned here; queued for a scan', { loadId: start.loadId, error: String(error) });
    }
  }
  await ctx.chunkQueue.send({ kind: 'scan', loadId: start.loadId });
  return undefined;
}
