/**
 * The plan sweep (run by the load sweeper's timer): a host killed mid-plan leaves a plan whose next step nobody
 * is going to take (its last load ended while the process died before advancing, a stage claimed but not
 * started, a plan file not yet staged). After LOAD_STALL_SECONDS without a change the sweep claims the plan with
 * an ETag-guarded write (so of several instances one acts) and takes the step: prepare a plan not yet staged,
 * advance the others. Each step is idempotent (planAdvance.ts). It also publishes end events a crash left pending.
 */
import { isoAt } from '../loads/loadContext';
import { advancePlan } from './planAdvance';
import type { PlanContext } from './planContext';
import { failPlan, publishPendingPlanEvent } from './planEnd';
import { acceptPlan } from './planIntake';
import { isPlanTerminal } from './planRecord';

export interface PlanSweepReport {
  prepared: string[];
  advanced: string[];
  announced: string[];
}

export async function sweepPlans(ctx: PlanContext): Promise<PlanSweepReport> {
  const report: PlanSweepReport = { prepared: [], advanced: [], announced: [] };
  for await (const plan of ctx.store.listUnfinished()) {
    try {
      if (isPlanTerminal(plan)) {
        if (!plan.eventPublished && (await publishPendingPlanEvent(ctx, plan)) === 'published')
          report.announced.push(plan.id);
        continue;
      }
      if (ctx.loads.now() - Date.parse(plan.updatedAt) < ctx.loads.stallMs) continue;
      const claim = await ctx.store.mutate(plan.id, (p) =>
        p.updatedAt === plan.updatedAt ? { updatedAt: isoAt(ctx.loads.now()) } : undefined,
      );
      if (!claim.changed) continue;
      if (!plan.tables) {
        // A posted plan whose blob trigger never came, or a preparation a crash interrupted.
        const accepted = await acceptPlan(ctx, { container: plan.container, name: plan.blobName });
        if (accepted.kind === 'gone')
          await failPlan(ctx, plan.id, {
            code: 'PlanFileGone',
            message: `the plan file ${plan.container}/${plan.blobName} is gone: it was deleted before it was read`,
          });
        report.prepared.push(plan.id);
      } else {
        await advancePlan(ctx, plan.id);
        report.advanced.push(plan.id);
      }
    } catch (error) {
      ctx.loads.log?.warn('Plan sweep: could not resume a plan', { planId: plan.id, error: String(error) });
    }
  }
  return report;
}
