/**
 * statecode / statuscode as the platform checks them: a status must be one of its state's options (a statuscode
 * alone is checked against the row's current state), a state alone takes its first status, and tables whose rows
 * can only be created in some states (activities: Open) create the row in its default state instead.
 */
import { faults } from './faults';
import type { Table } from './schema';
import type { Row } from './store';

/** Drops a statecode a create may not set; the row keeps its default state (and its statuscode is checked against it). */
export function dropStateNotValidOnCreate(table: Table, changes: Row): void {
  const allowed = table.statesValidOnCreate;
  if (allowed && typeof changes.statecode === 'number' && !allowed.includes(changes.statecode))
    delete changes.statecode;
}

/** `TaskState.Open`, `AccountState.Inactive`: the name the platform's message gives a state. */
function stateName(table: Table, state: unknown): string {
  const label = table.attributes.get('statecode')?.options?.find((o) => o.value === state)?.label ?? String(state);
  const entity = table.logicalName.charAt(0).toUpperCase() + table.logicalName.slice(1);
  return `${entity}State.${label.replace(/\s+/g, '')}`;
}

export function checkStatusBelongsToState(table: Table, row: Row): void {
  const status = table.attributes.get('statuscode')?.options?.find((o) => o.value === row.statuscode);
  if (!status || status.state === undefined || status.state === row.statecode) return;
  throw faults.invalidStatus(
    status.value,
    stateName(table, row.statecode),
    table.logicalName,
    String(row[table.primaryIdAttribute]),
  );
}
