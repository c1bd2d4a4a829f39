/**
 * Advancing a plan: called whenever one of its loads is written (LoadContext.planHooks) and by the plan sweep.
 * Reads the plan and its loads and does the next step, each guarded so that any number of calls, from any number
 * of instances, after a crash between any two steps, lead to the same plan:
 * - the loads of every stage up to the current one exist (startPlanLoad is idempotent: deterministic load ids);
 * - when every load of the current stage is written, the next stage is claimed with the plan record's ETag (one
 *   claim wins; whoever runs next starts its loads);
 * - after the last stage (or when a table's load failed outright, which stops the plan), the loads waiting for the
 *   plan's binds are released, and when every load is over the plan ends (planEnd.ts).
 */
import { isoAt } from '../loads/loadContext';
import { isComplete, isTerminal, outcomeOf, waitsForPlanBinds, type LoadRecord } from '../loads/loadRecord';
import { startPlanLoad } from '../loads/planLoadStart';
import { addLogFields } from '../observability/logScope';
import type { PlanContext } from './planContext';
import { announcePlan, endPlan, type PlanOutcome } from './planEnd';
import { isPlanTerminal, type PlanRecord, type PlanTableEntry } from './planRecord';

/**
 * Every row of the load is written (or the load is over): the tables after it may start. Its second pass (binds of
 * rows to rows of its own file, or waiting for the plan) may still run: what later tables name exists already.
 */
export function isWritten(record: LoadRecord): boolean {
  return isTerminal(record) || isComplete(record);
}

/** Complete and waiting for the plan to release its cross-table binds (the test tryFinalize makes: loadRecord.ts). */
const waitsForPlan = (record: LoadRecord) => !isTerminal(record) && isComplete(record) && waitsForPlanBinds(record);

/** A load that ended without loading its file (unreadable, wrong table...): the plan stops there. */
const failedOutright = (record: LoadRecord | undefined) =>
  record !== undefined && isTerminal(record) && record.errorCode !== undefined;

const where = (t: PlanTableEntry) =>
  t.source.kind === 'sheet' ? `sheet '${t.source.name}'` : `file '${t.source.name}'`;

/** The plan's outcome from the loads it started (all of them over). */
function outcomeOfPlan(plan: PlanRecord, started: PlanTableEntry[], loads: Map<string, LoadRecord>): PlanOutcome {
  const counts = { total: 0, succeeded: 0, failed: 0, notProcessed: 0 };
  for (const t of started) {
    const r = loads.get(t.loadId)!;
    counts.total += r.total ?? 0;
    counts.succeeded += r.succeeded;
    counts.failed += r.failed;
    counts.notProcessed += r.notProcessed;
  }
  const failed = started.filter((t) => failedOutright(loads.get(t.loadId)));
  if (failed.length === 0) return { status: outcomeOf(counts), counts };
  const notStarted = (plan.tables ?? []).filter((t) => !started.includes(t)).map((t) => t.table);
  const reasons = failed.map((t) => `table ${t.table} (${where(t)}) failed: ${loads.get(t.loadId)!.message ?? ''}`);
  const rest = notStarted.length > 0 ? `; not started: ${[...new Set(notStarted)].join(', ')}` : '';
  return {
    status: 'failed',
    counts,
    errorCode: 'PlanTableFailed',
    message: `${reasons.join('; ')}${rest}`,
  };
}

async function readLoads(ctx: PlanContext, tables: PlanTableEntry[]): Promise<Map<string, LoadRecord>> {
  const loads = new Map<string, LoadRecord>();
  const records = await Promise.all(tables.map((t) => ctx.loads.store.get(t.loadId)));
  records.forEach((r, i) => r && loads.set(tables[i]!.loadId, r));
  return loads;
}

/** One step; sets `state.again` when the plan moved and the next step may already be possible. */
async function advanceOnce(
  ctx: PlanContext,
  planId: string,
  state: { again: boolean },
): Promise<PlanRecord | undefined> {
  const plan = await ctx.store.get(planId);
  if (!plan) return undefined;
  if (isPlanTerminal(plan)) {
    await announcePlan(ctx, plan);
    return plan;
  }
  if (!plan.tables || !plan.order || plan.stage === undefined) return plan; // not staged yet (planIntake.ts)
  const stage = plan.stage;
  const started = plan.tables.filter((t) => t.stage <= stage);
  const loads = await readLoads(ctx, started);
  const stopped = started.some((t) => failedOutright(loads.get(t.loadId)));
  // The loads of one stage start side by side (each may scan its file here: planLoadStart.ts).
  if (!stopped) {
    const starts = await Promise.allSettled(
      started
        .filter((t) => !loads.has(t.loadId))
        .map(async (t) => {
          const { record } = await startPlanLoad(ctx.loads, {
            loadId: t.loadId,
            planId,
            table: t.table,
            container: plan.container,
            blobName: t.blobName,
            ...(t.crossTableBinds ? { crossTableBinds: t.crossTableBinds } : {}),
          });
          loads.set(t.loadId, record);
        }),
    );
    const failed = starts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
  // A stopped plan starts nothing more: it waits for (and ends with) the loads that exist.
  const live = started.filter((t) => loads.has(t.loadId));
  if (!stopped && live.length < started.length) return plan;
  if (!live.every((t) => isWritten(loads.get(t.loadId)!))) return plan;

  const lastStage = Math.max(...plan.tables.map((t) => t.stage));
  if (!stopped && stage < lastStage) {
    const claim = await ctx.store.mutate(planId, (p) =>
      p.stage === stage && !isPlanTerminal(p) ? { stage: stage + 1, updatedAt: isoAt(ctx.loads.now()) } : undefined,
    );
    if (claim.changed) ctx.loads.log?.info('Plan stage started', { planId, stage: stage + 1 });
    state.again = true; // start the loads of the stage now current (whoever claimed it)
    return claim.record;
  }

  // Every stage is written (or the plan stopped): the loads waiting for the plan bind their lookups and end.
  for (const t of live) {
    const r = loads.get(t.loadId)!;
    if (!waitsForPlan(r)) continue;
    await ctx.releasePlanBinds(r.id);
    const after = await ctx.loads.store.get(r.id);
    if (after) loads.set(r.id, after);
  }
  // A load not over yet (its end is under way elsewhere) advances the plan again when it ends.
  if (!live.every((t) => isTerminal(loads.get(t.loadId)!))) return plan;
  return (await endPlan(ctx, planId, outcomeOfPlan(plan, live, loads))) ?? plan;
}

/** Advances the plan as far as it can go now; returns the plan as last read. */
export async function advancePlan(ctx: PlanContext, planId: string): Promise<PlanRecord | undefined> {
  const running = ctx.advancing.get(planId);
  if (running) {
    running.again = true; // the advance under way runs once more
    return undefined;
  }
  addLogFields({ planId });
  const state = { again: true };
  ctx.advancing.set(planId, state);
  try {
    let plan: PlanRecord | undefined;
    while (state.again) {
      state.again = false;
      plan = await advanceOnce(ctx, planId, state);
    }
    return plan;
  } finally {
    ctx.advancing.delete(planId);
  }
}
