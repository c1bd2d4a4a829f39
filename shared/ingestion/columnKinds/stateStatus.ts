/**
 * statecode / statuscode by value or label. A status must belong to its state (StatusOptionMetadata.State): checked
 * here, before anything is sent. A status alone brings its state; a state alone lets Dataverse pick its default
 * status. A create (or upsert, which may create) in a state the table does not take on create is sent without the
 * two columns and followed by an update setting them (`secondRequest`); the row is reported once, by the outcome of
 * both requests.
 */
import { done, failed, kindFault, quote, type KindOption, type KindResult, type KindTable } from './types';

export interface StateStatusCells {
  state?: { column: string; text: string };
  status?: { column: string; text: string };
}

export interface StateStatusValues {
  /** Columns for the row's own request body. */
  body: { statecode?: number; statuscode?: number };
  /** A follow-up update for a state the table does not take on create. */
  secondRequest?: { statecode: number; statuscode?: number };
}

const label = (o: KindOption) => `${o.labels[0] ?? o.value} (${o.value})`;

function find(options: KindOption[], text: string, preferState?: number): KindOption | undefined {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) return options.find((o) => o.value === Number(t));
  const lower = t.toLowerCase();
  const matches = options.filter((o) => o.labels.some((l) => l.toLowerCase() === lower));
  // Status labels repeat across states in some tables: the one of the row's state wins.
  return matches.find((o) => preferState === undefined || o.state === preferState) ?? matches[0];
}

export function convertStateStatus(
  table: KindTable,
  cells: StateStatusCells,
  rowNumber: number,
  operation: 'create' | 'update' | 'upsert',
): KindResult<StateStatusValues> {
  const stateOptions = table.attributes['statecode']?.options ?? [];
  const statusOptions = table.attributes['statuscode']?.options ?? [];
  let state: KindOption | undefined;
  if (cells.state && cells.state.text.trim() !== '') {
    state = find(stateOptions, cells.state.text);
    if (!state)
      return failed(
        kindFault(
          rowNumber,
          cells.state.column,
          cells.state.text,
          `${quote(cells.state.text)} is not a state of ${table.logicalName} (${stateOptions.map(label).join(', ')})`,
        ),
      );
  }
  let status: KindOption | undefined;
  if (cells.status && cells.status.text.trim() !== '') {
    status = find(statusOptions, cells.status.text, state?.value);
    if (!status)
      return failed(
        kindFault(
          rowNumber,
          cells.status.column,
          cells.status.text,
          `${quote(cells.status.text)} is not a status of ${table.logicalName}`,
        ),
      );
    if (state && status.state !== undefined && status.state !== state.value)
      return failed(
        kindFault(
          rowNumber,
          cells.status.column,
          cells.status.text,
          `status ${label(status)} belongs to state ${label(stateOptions.find((o) => o.value === status!.state) ?? { value: status.state, labels: [] })}, not to ${label(state)}`,
        ),
      );
  }
  const statecode = state?.value ?? status?.state;
  const statuscode = status?.value;
  if (statecode === undefined) return done({ body: statuscode === undefined ? {} : { statuscode } });
  const settable = table.statesSettableOnCreate ?? [statusOptions[0]?.state ?? stateOptions[0]?.value ?? 0];
  if (operation !== 'update' && !settable.includes(statecode))
    return done({ body: {}, secondRequest: statuscode === undefined ? { statecode } : { statecode, statuscode } });
  return done({ body: statuscode === undefined ? { statecode } : { statecode, statuscode } });
}
