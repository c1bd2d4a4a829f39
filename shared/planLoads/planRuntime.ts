/**
 * Builds the plan engine's context on the load engine's (shared/app.ts calls it) and hooks it into the loads:
 * a load of a plan that is written advances its plan, and a file dropped under `_plans/` is accepted as a plan.
 */
import type { TableClient } from '@azure/data-tables';
import type { LoadContext } from '../loads/loadContext';
import { releasePlanBinds } from '../loads/planBinds';
import { readTableCatalog, type TableCatalogEntry } from '../plans/index';
import { advancePlan } from './planAdvance';
import type { PlanContext } from './planContext';
import { acceptPlan } from './planIntake';
import { stagePlan } from './planStaging';
import { createPlanStore } from './planStore';

/** The catalog changes when tables are created: kept for a few minutes, read again after a failure. */
const catalogTtlMs = 5 * 60_000;

function cachedCatalog(loads: LoadContext): () => Promise<readonly TableCatalogEntry[]> {
  let cached: { at: number; catalog: Promise<TableCatalogEntry[]> } | undefined;
  return () => {
    if (!cached || loads.now() - cached.at > catalogTtlMs) {
      const catalog = readTableCatalog(loads.client);
      cached = { at: loads.now(), catalog };
      catalog.catch(() => (cached = undefined));
    }
    return cached.catalog;
  };
}

export function createPlanContext(loads: LoadContext, loadsTable: TableClient): PlanContext {
  return {
    loads,
    store: createPlanStore(loadsTable),
    catalog: cachedCatalog(loads),
    stagePlan: (input) => stagePlan(input, { blobs: loads.blobs }),
    releasePlanBinds: (loadId) => releasePlanBinds(loads, loadId),
    advancing: new Map(),
  };
}

/** Hooks the plans into the loads: written loads advance their plan, `_plans/<file>` drops start one. */
export function hookPlans(plans: PlanContext): void {
  plans.loads.planHooks = {
    async loadWritten(record) {
      if (record.planId) await advancePlan(plans, record.planId);
    },
    async planDropped(blob) {
      const result = await acceptPlan(plans, blob);
      return result.kind === 'gone' ? result : { kind: 'plan', planId: result.plan.id, status: result.plan.status };
    },
  };
}
