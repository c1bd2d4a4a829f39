/**
 * Bulk messages bound to an entity set: CreateMultiple, UpdateMultiple, UpsertMultiple, DeleteMultiple.
 * Standard tables are all-or-nothing (BULK: "any error rolls back the whole request"); the emulator
 * applies the same to elastic tables (documented simplification).
 */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import { callerOf, parseJsonBody, type RecordContext } from './context';
import { parseEntityReference } from './entityReference';
import { faults } from './faults';
import { locate } from './keys';
import type { Table } from './schema';
import { checkODataType, createRow, updateRow } from './writes';

export const bulkMessages = ['CreateMultiple', 'UpdateMultiple', 'UpsertMultiple', 'DeleteMultiple'] as const;
export type BulkMessage = (typeof bulkMessages)[number];

function targetsOf(req: EmulatorRequest, table: Table, message: BulkMessage): Record<string, unknown>[] {
  const body = parseJsonBody(req.body, table.entitySetName);
  const targets = body.Targets;
  if (!Array.isArray(targets))
    throw faults.invalidArgument(`${message}: the request body must have a 'Targets' array.`);
  return targets.map((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      throw faults.invalidArgument(`${message}: the item at index ${i} of 'Targets' is not an entity.`);
    const target = t as Record<string, unknown>;
    checkODataType(table, target, message, i);
    return target;
  });
}

function idOf(table: Table, target: Record<string, unknown>, message: BulkMessage): string {
  const id = target[table.primaryIdAttribute];
  if (typeof id !== 'string')
    throw faults.invalidArgument(`${message}: every target must have its primary key '${table.primaryIdAttribute}'.`);
  return id.toLowerCase();
}

export function bulkRequest(
  ctx: RecordContext,
  table: Table,
  message: BulkMessage,
  req: EmulatorRequest,
): EmulatorResponse {
  if (req.method !== 'POST') throw faults.methodNotAllowed(req.method);
  if (message === 'DeleteMultiple' && !table.isElastic) throw faults.deleteMultipleStandard();
  if (!table.supportsBulkMessages) throw faults.messageNotSupported(message, table.logicalName);
  const targets = targetsOf(req, table, message);
  const caller = callerOf(req);
  return ctx.store.atomically((): EmulatorResponse => {
    switch (message) {
      case 'CreateMultiple': {
        const ids = targets.map((t) => createRow(ctx, table, t, caller)[table.primaryIdAttribute] as string);
        return {
          status: 200,
          body: {
            '@odata.context': `${ctx.webApiBase}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`,
            Ids: ids,
          },
        };
      }
      case 'UpdateMultiple': {
        for (const t of targets) {
          const id = idOf(table, t, message);
          const existing = ctx.store.get(table.logicalName, id);
          if (!existing) throw faults.recordNotFound(table.logicalName, id);
          updateRow(ctx, table, existing, t, caller);
        }
        return { status: 204 };
      }
      case 'UpsertMultiple': {
        for (const t of targets) upsertTarget(ctx, table, t, caller);
        return { status: 204 };
      }
      case 'DeleteMultiple': {
        // Elastic deletes are idempotent here: a row already gone is skipped (documented simplification).
        for (const t of targets) ctx.store.remove(table.logicalName, idOf(table, t, message));
        return { status: 204 };
      }
    }
  });
}

/** A target names its row by `@odata.id` (alternate key) or by its primary key; else it is created. */
function upsertTarget(
  ctx: RecordContext,
  table: Table,
  target: Record<string, unknown>,
  caller: ReturnType<typeof callerOf>,
): void {
  const odataId = target['@odata.id'];
  if (typeof odataId === 'string') {
    const ref = parseEntityReference(odataId);
    if (!ref || ref.entitySetName !== table.entitySetName)
      throw faults.invalidArgument(
        `UpsertMultiple: '@odata.id' '${odataId}' does not name a ${table.logicalName} record.`,
      );
    const found = locate(ctx.store, table, ref.key);
    const existing = found.id === undefined ? undefined : ctx.store.get(table.logicalName, found.id);
    if (existing) {
      updateRow(ctx, table, existing, target, caller, { dropColumns: found.keyValues?.keys() });
      return;
    }
    // Observed (PYSDK PR #127): key columns both in the body and in @odata.id fail the create path.
    for (const column of found.keyValues?.keys() ?? []) if (column in target) throw faults.unexpected();
    createRow(ctx, table, target, caller, { requestedId: found.requestedId, keyValues: found.keyValues });
    return;
  }
  const id = target[table.primaryIdAttribute];
  const existing = typeof id === 'string' ? ctx.store.get(table.logicalName, id.toLowerCase()) : undefined;
  if (existing) updateRow(ctx, table, existing, target, caller);
  else createRow(ctx, table, target, caller);
}
