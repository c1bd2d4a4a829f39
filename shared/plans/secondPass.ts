/**
 * The second pass of a plan, pure part: which `@odata.bind` entries of a row's body are left out of its create
 * (the deferred lookups of planOrder: a cycle's lookup, a lookup to the table itself, a lookup to a table loaded
 * later) and the update that binds them once every row exists. The bind is an update by id with
 * `If-Match: *`, so it can never create a row (a PATCH without it is an upsert) and sending it twice is harmless.
 */
import { entityReference, type RecordKey } from '../dataverse/organizationRequest';
import type { TableMetadata } from '../ingestion/tableMetadata';
import type { DeferredLookup } from './planOrder';

/** A record as the Web API takes it in a create or update: attributes and `@odata.bind` references. */
export type RecordBody = Record<string, unknown>;

export interface SplitBody {
  /** The body to create or upsert with: every deferred bind left out. */
  first: RecordBody;
  /** The deferred binds (`nav@odata.bind` → reference), or undefined when the row has none. */
  binds?: RecordBody;
}

/** The `@odata.bind` keys of `table`'s deferred lookups (one per navigation property of each deferred target). */
export function deferredBindKeys(table: TableMetadata, deferred: readonly DeferredLookup[]): Set<string> {
  const keys = new Set<string>();
  for (const d of deferred) {
    if (d.table !== table.logicalName) continue;
    for (const target of table.attributes[d.attribute]?.lookupTargets ?? [])
      if (target.table === d.target) keys.add(`${target.navigationProperty ?? d.attribute}@odata.bind`);
  }
  return keys;
}

export function splitBody(body: RecordBody, deferredKeys: ReadonlySet<string>): SplitBody {
  const first: RecordBody = {};
  const binds: RecordBody = {};
  for (const [key, value] of Object.entries(body)) {
    // a null bind (clearing the lookup) is not a reference to wait for
    if (deferredKeys.has(key) && value !== null) binds[key] = value;
    else first[key] = value;
  }
  return Object.keys(binds).length > 0 ? { first, binds } : { first };
}

export interface BindRequest {
  method: 'PATCH';
  /** `accounts(<id>)`, relative to the Web API root. */
  url: string;
  headers: Record<string, string>;
  body: RecordBody;
}

/** The update that binds a row's deferred lookups: by id (or the row's alternate key), update-only. */
export function bindRequest(entitySetName: string, record: RecordKey, binds: RecordBody): BindRequest {
  return {
    method: 'PATCH',
    url: entityReference(entitySetName, record),
    headers: { 'If-Match': '*', 'Content-Type': 'application/json' },
    body: binds,
  };
}
