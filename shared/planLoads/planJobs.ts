/** A plan in the job index (GET /api/jobs): kind 'plan', its status URL. */
import type { PlanContext } from './planContext';
import { planStatusUrlOf, type PlanRecord } from './planRecord';

export function indexPlan(ctx: Pick<PlanContext, 'loads'>, plan: PlanRecord): Promise<void> {
  return ctx.loads.index.recordJob({
    id: plan.id,
    kind: 'plan',
    state: plan.status,
    createdAt: plan.createdAt,
    name: `${plan.container}/${plan.blobName}`,
    statusUrl: planStatusUrlOf(plan.id),
  });
}
