/** Unbound operations on records: WhoAmI and Merge (account, contact). */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import { callerOf, parseJsonBody, type RecordContext } from './context';
import { guidPattern } from './entityReference';
import { faults } from './faults';
import type { Table } from './schema';
import { isLookupValue, type Row } from './store';
import { updateRow } from './writes';

export function whoAmI(ctx: RecordContext, req: EmulatorRequest): EmulatorResponse {
  if (req.method !== 'GET') throw faults.methodNotAllowed(req.method);
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.webApiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: ctx.businessUnitId,
      UserId: callerOf(req).userId,
      OrganizationId: ctx.organizationId,
    },
  };
}

/** `{"@odata.type":"Microsoft.Dynamics.CRM.account","accountid":"..."}` → the table and the row. */
function entityParameter(ctx: RecordContext, value: unknown, name: string): { table: Table; row: Row } {
  if (typeof value !== 'object' || value === null)
    throw faults.invalidArgument(`Merge: the parameter '${name}' is missing.`);
  const entity = value as Record<string, unknown>;
  const type =
    typeof entity['@odata.type'] === 'string'
      ? entity['@odata.type'].replace(/^#?Microsoft\.Dynamics\.CRM\./, '')
      : undefined;
  const table = type ? ctx.schema.tables.get(type) : undefined;
  if (!table)
    throw faults.invalidArgument(
      `Merge: the parameter '${name}' needs "@odata.type": "Microsoft.Dynamics.CRM.<table>".`,
    );
  const id = entity[table.primaryIdAttribute];
  if (typeof id !== 'string' || !guidPattern.test(id))
    throw faults.invalidArgument(`Merge: the parameter '${name}' needs its '${table.primaryIdAttribute}'.`);
  const row = ctx.store.get(table.logicalName, id.toLowerCase());
  if (!row) throw faults.recordNotFound(table.logicalName, id.toLowerCase());
  return { table, row };
}

/** The parent column PerformParentingChecks compares (account → parentaccountid, contact → parentcustomerid). */
const parentColumn: Record<string, string> = { account: 'parentaccountid', contact: 'parentcustomerid' };

/**
 * Merge: the target takes UpdateContent, every lookup that pointed at the subordinate now points at the
 * target, and the subordinate is deactivated with masterid = target and merged = true. All or nothing.
 */
export function merge(ctx: RecordContext, req: EmulatorRequest): EmulatorResponse {
  if (req.method !== 'POST') throw faults.methodNotAllowed(req.method);
  const body = parseJsonBody(req.body, 'Merge');
  const target = entityParameter(ctx, body.Target, 'Target');
  if (!target.table.supportsMerge) throw faults.messageNotSupported('Merge', target.table.logicalName);
  const subordinateId = typeof body.SubordinateId === 'string' ? body.SubordinateId : undefined;
  const subordinate = subordinateId
    ? entityParameter(
        ctx,
        {
          '@odata.type': `Microsoft.Dynamics.CRM.${target.table.logicalName}`,
          [target.table.primaryIdAttribute]: subordinateId,
        },
        'SubordinateId',
      )
    : entityParameter(ctx, body.Subordinate, 'Subordinate');
  if (subordinate.table !== target.table)
    throw faults.invalidArgument('Merge: the target and the subordinate must be records of the same table.');
  const table = target.table;
  const targetId = target.row[table.primaryIdAttribute] as string;
  const subId = subordinate.row[table.primaryIdAttribute] as string;
  if (targetId === subId) throw faults.invalidArgument('Merge: the target and the subordinate are the same record.');
  if (subordinate.row.merged === true)
    throw faults.invalidArgument(`Merge: the subordinate ${table.logicalName} ${subId} has already been merged.`);
  const parent = parentColumn[table.logicalName];
  if (body.PerformParentingChecks === true && parent) {
    const a = target.row[parent],
      b = subordinate.row[parent];
    if (isLookupValue(a) && isLookupValue(b) && a.id !== b.id) {
      throw faults.parentingCheck();
    }
  }
  const content = body.UpdateContent;
  const caller = callerOf(req);
  ctx.store.atomically(() => {
    if (typeof content === 'object' && content !== null) {
      const fields = { ...(content as Record<string, unknown>) };
      delete fields['@odata.type'];
      delete fields[table.primaryIdAttribute];
      updateRow(ctx, table, target.row, fields, caller);
    }
    reparent(ctx, table.logicalName, subId, targetId, caller);
    const sub = ctx.store.get(table.logicalName, subId)!;
    const inactive = table.attributes.get('statuscode')?.options?.find((o) => o.state === 1)?.value ?? 2;
    const merged: Row = {
      ...sub,
      statecode: 1,
      statuscode: inactive,
      merged: true,
      masterid: { id: targetId, table: table.logicalName },
    };
    updateRow(ctx, table, merged, {}, caller);
  });
  return { status: 204 };
}

/** Moves every lookup that references the subordinate to the target (child contacts, tasks, ...). */
function reparent(
  ctx: RecordContext,
  tableName: string,
  fromId: string,
  toId: string,
  caller: ReturnType<typeof callerOf>,
): void {
  for (const table of ctx.schema.tables.values()) {
    const columns = [...table.attributes.values()].filter(
      (a) => a.targets?.some((t) => t.table === tableName) && a.logicalName !== 'masterid',
    );
    if (!columns.length) continue;
    for (const row of [...ctx.store.rows(table.logicalName)]) {
      const moved: Row = {};
      for (const a of columns) {
        const v = row[a.logicalName];
        if (isLookupValue(v) && v.table === tableName && v.id === fromId)
          moved[a.logicalName] = { id: toId, table: tableName };
      }
      if (Object.keys(moved).length) updateRow(ctx, table, { ...row, ...moved }, {}, caller);
    }
  }
}
