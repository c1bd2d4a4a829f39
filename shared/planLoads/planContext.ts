/** What the plan engine's parts share: the load engine, the plan records, the table catalog, staging, binds. */
import type { LoadContext } from '../loads/loadContext';
import type { TableCatalogEntry } from '../plans/index';
import type { PlanStagingInput, StagedTable } from './planStaging';
import type { PlanStore } from './planStore';

/** Writes each file or sheet of a prepared plan to its own blob (planStaging.ts), in the prepared plan's order. */
export type StagePlan = (input: PlanStagingInput) => Promise<StagedTable[]>;

export interface PlanContext {
  loads: LoadContext;
  store: PlanStore;
  /** The tables a plan's file and sheet names are matched against (EntityDefinitions, cached). */
  catalog: () => Promise<readonly TableCatalogEntry[]>;
  stagePlan: StagePlan;
  /** Lets a load that waits for its plan bind its cross-table lookups and end (loads/planBinds). */
  releasePlanBinds(loadId: string): Promise<void>;
  /** Plans this process is advancing: an advance asked for meanwhile runs once more instead of alongside. */
  advancing: Map<string, { again: boolean }>;
}
