/**
 * Cross-table binds of a plan (issue 15): a cycle's deferred lookup (account.primarycontactid → contact while
 * contact.parentcustomerid → account). The plan engine records the lookup columns on the load
 * (`LoadRecord.crossTableBinds`); the scan copies them into the plan; every row with a value in one is created
 * without that bind and keeps a pending bind like an in-file bind (inFileBinds.ts deferChunkBinds), even
 * when its target already exists (the file alone can't tell). Once complete, the load waits: tryFinalize tells the
 * plan (`planHooks.loadWritten`) instead of ending it, until the plan, its last stage written, calls
 * `releasePlanBinds`; the load's end then binds in-file and cross-table binds in one pass (bindPass.ts).
 */
import type { LoadPlan } from '../ingestion/loadPlan';
import { isoAt, type LoadContext } from './loadContext';
import { tryFinalize } from './loadEnd';
import { isTerminal } from './loadRecord';

/** A lookup column of the file whose binds wait for the plan, with the `<nav>@odata.bind` properties it fills. */
export interface CrossTableColumn {
  column: string;
  properties: string[];
}

const bindProperty = (target: { navigationProperty: string }) => `${target.navigationProperty}@odata.bind`;

/**
 * The file's columns that `names` (the load record's crossTableBinds) name: a column by its header, or every
 * column of a lookup by the lookup's logical name (`parentcustomerid` names `parentcustomerid@account`, …).
 * A plain lookup column fills one property per target; a per-target column (`x@account`) its target's; a
 * polymorphic value column (with `x.type` or the profile's default table) any target's.
 */
export function crossTableColumns(
  plan: LoadPlan,
  columns: readonly string[],
  names: readonly string[],
): CrossTableColumn[] {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const found: CrossTableColumn[] = [];
  for (const column of columns) {
    const binding = plan.resolveColumn(column);
    let attribute: string | undefined;
    let properties: string[] = [];
    if (!(binding instanceof Error) && binding.kind === 'lookup') {
      attribute = binding.attribute.logicalName;
      properties = binding.targets.map(bindProperty);
    } else {
      for (const { columns: p } of plan.columnKinds?.polymorphic ?? []) {
        const perTarget = p.perTarget.find((t) => t.column === column);
        const target = perTarget && p.attribute.targets?.find((t) => t.table === perTarget.table);
        if (target) properties = [bindProperty(target)];
        else if (p.valueColumn === column) properties = (p.attribute.targets ?? []).map(bindProperty);
        else continue;
        attribute = p.attribute.logicalName;
        break;
      }
    }
    if (attribute === undefined || properties.length === 0) continue;
    if (wanted.has(column.toLowerCase()) || wanted.has(attribute)) found.push({ column, properties });
  }
  return found;
}

/**
 * The plan released the load's cross-table binds (its last stage is written): the load's end runs the bind pass
 * (in-file and cross-table binds, once) and ends the load. Idempotent; a load not complete yet ends as usual
 * when its last chunk completes.
 */
export async function releasePlanBinds(ctx: LoadContext, loadId: string): Promise<void> {
  await ctx.store.mutate(loadId, (r) =>
    isTerminal(r) || r.planBindsReleased ? undefined : { planBindsReleased: true, updatedAt: isoAt(ctx.now()) },
  );
  await tryFinalize(ctx, loadId);
}
