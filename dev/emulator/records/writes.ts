/** Create / update / delete of one row: validation, defaults, system columns, alternate-key checks. */
import type { KeyLiteral } from './entityReference';
import { faults } from './faults';
import type { Caller, RecordContext } from './context';
import type { Table } from './schema';
import type { Row } from './store';
import { checkStatusBelongsToState, dropStateNotValidOnCreate } from './stateStatus';
import { checkRequired, dataverseDateTime, defaults, derive, readBody } from './values';

const user = (id: string) => ({ id, table: 'systemuser' });

export interface CreateOptions {
  /** The id from the URL of an upsert by id. */
  requestedId?: string;
  /** Key values from the URL of an upsert by alternate key; the body wins when it has them too. */
  keyValues?: Map<string, KeyLiteral>;
}

export function createRow(
  ctx: RecordContext,
  table: Table,
  body: Record<string, unknown>,
  caller: Caller,
  options: CreateOptions = {},
): Row {
  const changes = readBody(ctx.schema, ctx.store, table, body, 'create');
  dropStateNotValidOnCreate(table, changes);
  const id = (changes[table.primaryIdAttribute] as string | undefined) ?? options.requestedId ?? ctx.newId();
  ctx.onCreateAttempt?.(table.logicalName, id);
  if (ctx.store.get(table.logicalName, id)) throw faults.duplicateKey();
  const row: Row = defaults(table);
  for (const [column, value] of options.keyValues ?? []) {
    if (!(column in changes)) row[column] = typeof value === 'string' ? value : value;
  }
  Object.assign(row, changes);
  derive(table, row, changes);
  row[table.primaryIdAttribute] = id;
  checkRequired(table, row);
  checkStatusBelongsToState(table, row);
  const now = dataverseDateTime(ctx.now());
  row.createdon = typeof changes.overriddencreatedon === 'string' ? `${changes.overriddencreatedon}T00:00:00Z` : now;
  row.modifiedon = now;
  row.versionnumber = ctx.store.nextRowVersion();
  row.createdby = user(caller.userId);
  row.modifiedby = user(caller.userId);
  row.createdonbehalfby = caller.onBehalfOf ? user(caller.onBehalfOf) : null;
  if (!row.ownerid) row.ownerid = user(caller.userId);
  ctx.store.put(table.logicalName, id, row);
  return row;
}

export interface UpdateOptions {
  /** Columns whose body values are dropped (the URL key columns of an upsert that updates). */
  dropColumns?: Iterable<string>;
}

export function updateRow(
  ctx: RecordContext,
  table: Table,
  existing: Row,
  body: Record<string, unknown>,
  caller: Caller,
  options: UpdateOptions = {},
): Row {
  const changes = readBody(ctx.schema, ctx.store, table, body, 'update');
  delete changes[table.primaryIdAttribute];
  for (const column of options.dropColumns ?? []) delete changes[column];
  const row: Row = { ...existing, ...changes };
  derive(table, row, changes);
  checkRequired(table, row);
  checkStatusBelongsToState(table, row);
  row.modifiedon = dataverseDateTime(ctx.now());
  row.modifiedby = user(caller.userId);
  row.versionnumber = ctx.store.nextRowVersion();
  ctx.store.put(table.logicalName, existing[table.primaryIdAttribute] as string, row);
  return row;
}

/** Bulk message targets and action parameters must say their type: `Microsoft.Dynamics.CRM.<table>`. */
export function checkODataType(table: Table, target: Record<string, unknown>, message: string, index: number): void {
  const type = target['@odata.type'];
  if (typeof type !== 'string' || type === '') throw faults.missingODataType(message, index);
  if (type.replace(/^#/, '') !== `Microsoft.Dynamics.CRM.${table.logicalName}`)
    throw faults.wrongODataType(message, type, table.logicalName);
}
