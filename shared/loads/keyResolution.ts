/**
 * Rows whose alternate-key or lookup value holds a character no key URL can carry (`/ # < > * % & : \ ? +`,
 * docs/design.md "Key literals") are written by id instead: the id is found with a `$filter` query (a query
 * string can carry any character, percent-encoded) and the row is then sent as an ordinary request by id.
 *
 * Exactly once: an upsert whose key matches no record becomes an upsert by a deterministic id (UUID v5 of the
 * table and the key values) with the key columns in the body. A retry after a crash between the query and the
 * write re-queries and finds nothing or the record written, and re-sends the same id either way; two rows with the
 * same key resolve to the same id, so the second updates what the first created. Dataverse's unique index on the
 * alternate key refuses a second record with the key whatever happens.
 */
import type { DataverseClient, CallOptions } from '../dataverse/index';
import { odataLiteral } from '../dataverse/index';
import type { KeyValue } from '../ingestion/odataKeys';
import { unaddressableCharacter } from '../ingestion/odataKeys';
import { uuidV5 } from '../ingestion/recordId';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { ConvertedRow } from '../ingestion/rowConversion';

/** What a row that can't be sent became: failed with this code, status and message. */
export interface ResolutionFault {
  code: string;
  message: string;
  httpStatus: number;
}

export interface KeyResolution {
  /** The rows, those with unaddressable keys or lookups rewritten to address records by id. */
  rows: ConvertedRow[];
  /** Rows that can't be sent, by index. */
  faults: Map<number, ResolutionFault>;
}

export interface KeyResolutionOptions {
  client: DataverseClient;
  /** Only its table is read (the second pass resolves binds of a load's table with it). */
  plan: Pick<LoadPlan, 'table'>;
  callOptions: CallOptions;
  /** A retried chunk: a delete whose record is gone was done by the earlier attempt. */
  isRetry: boolean;
}

/** Dataverse's code for a record that doesn't exist (ObjectDoesNotExist). */
const notFoundCode = '0x80040217';

interface Query {
  entitySetName: string;
  primaryIdAttribute: string;
  values: Record<string, KeyValue>;
}

const queryKey = (q: Query) => JSON.stringify([q.entitySetName, Object.entries(q.values).sort()]);

/** Key values holding a character a key URL can't carry, or undefined. */
function unaddressable(values: Record<string, KeyValue>): { column: string; character: string } | undefined {
  for (const [column, value] of Object.entries(values)) {
    const character = typeof value === 'string' ? unaddressableCharacter(value) : undefined;
    if (character) return { column, character };
  }
  return undefined;
}

/** The deterministic id of the record an upsert by these key values creates. */
export function idForKey(entitySetName: string, values: Record<string, KeyValue>): string {
  return uuidV5(`key:${JSON.stringify([entitySetName, Object.entries(values).sort()])}`);
}

/** `contacts?$select=contactid,emailaddress1&$filter=emailaddress1 eq 'a+b@x.com'`, percent-encoded. */
function queryPath(q: Query): string {
  const columns = Object.keys(q.values);
  const filter = Object.entries(q.values)
    .map(([name, value]) => `${name} eq ${odataLiteral(value)}`)
    .join(' and ');
  return `${q.entitySetName}?$select=${[q.primaryIdAttribute, ...columns].join(',')}&$filter=${encodeURIComponent(filter)}`;
}

type Answer = { ids: string[] } | { fault: ResolutionFault };

/**
 * Runs the distinct queries in one `$batch`. A match is whatever Dataverse's `eq` matches: the same comparison its
 * unique index on the key makes (case-insensitive in Dataverse), so a row meets the record a key URL would have named.
 */
async function runQueries(o: KeyResolutionOptions, queries: Map<string, Query>): Promise<Map<string, Answer>> {
  const list = [...queries];
  const answers = new Map<string, Answer>();
  if (list.length === 0) return answers;
  const result = await o.client.executeMultiple(
    list.map(([, q]) => ({ kind: 'webApi', request: { method: 'GET', path: queryPath(q) } })),
    { continueOnError: true, returnResponses: true },
    o.callOptions,
  );
  for (const item of result.responses) {
    const [id, q] = list[item.requestIndex]!;
    if (item.fault) {
      answers.set(id, { fault: { code: item.fault.code, message: item.fault.message, httpStatus: item.fault.status } });
      continue;
    }
    const value = (item.response?.body as { value?: unknown } | undefined)?.value;
    const records = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
    const ids = records.map((r) => r[q.primaryIdAttribute]).filter((v): v is string => typeof v === 'string');
    answers.set(id, { ids });
  }
  return answers;
}

const describe = (values: Record<string, KeyValue>) =>
  Object.entries(values)
    .map(([name, value]) => `${name} = ${odataLiteral(value)}`)
    .join(', ');

/** Rewrites the rows that need it; the others come back as they were. */
export async function resolveUnaddressableKeys(o: KeyResolutionOptions, rows: ConvertedRow[]): Promise<KeyResolution> {
  const table = o.plan.table;
  const queries = new Map<string, Query>();
  const faults = new Map<number, ResolutionFault>();
  const rowKeys = new Map<number, string>();
  rows.forEach((row, index) => {
    if (typeof row.key === 'object' && unaddressable(row.key)) {
      const values = row.key;
      const lookupPart = Object.keys(values).find((name) => /^_.+_value$/.test(name));
      if (lookupPart) {
        const bad = unaddressable(values)!;
        faults.set(index, {
          code: 'UnaddressableKey',
          httpStatus: 400,
          message: `row ${row.rowNumber}, column '${bad.column}': the key value contains '${bad.character}', which Dataverse doesn't accept in a key in a URL, and a key with a lookup column (${lookupPart}) isn't written by id instead`,
        });
        return;
      }
      const q = { entitySetName: table.entitySetName, primaryIdAttribute: table.primaryIdAttribute, values };
      queries.set(queryKey(q), q);
      rowKeys.set(index, queryKey(q));
    }
    for (const bind of row.keyedBinds ?? []) {
      const q = {
        entitySetName: bind.target.entitySetName,
        // `<table>id` when the metadata did not say (it does for every table tableMetadataSource reads).
        primaryIdAttribute:
          bind.target.primaryIdAttribute ??
          (bind.target.table === table.logicalName ? table.primaryIdAttribute : `${bind.target.table}id`),
        values: { [bind.attribute]: bind.value },
      };
      queries.set(queryKey(q), q);
    }
  });
  const answers = await runQueries(o, queries);

  const out = rows.map((row, index): ConvertedRow => {
    if (faults.has(index)) return row;
    let next = row;
    for (const bind of row.keyedBinds ?? []) {
      const answer = answers.get(
        queryKey({
          entitySetName: bind.target.entitySetName,
          primaryIdAttribute: '',
          values: { [bind.attribute]: bind.value },
        }),
      );
      const found = answer && 'ids' in answer ? answer.ids : undefined;
      if (!found || found.length !== 1) {
        faults.set(index, {
          code: answer && 'fault' in answer ? answer.fault.code : notFoundCode,
          httpStatus: answer && 'fault' in answer ? answer.fault.httpStatus : 404,
          message: `row ${row.rowNumber}, column '${bind.column}': ${
            answer && 'fault' in answer
              ? answer.fault.message
              : `${found?.length ? 'several' : 'no'} ${bind.target.table} records have ${bind.attribute} = ${odataLiteral(bind.value)}`
          }`,
        });
        return row;
      }
      next = { ...next, body: { ...next.body, [bind.property]: `/${bind.target.entitySetName}(${found[0]})` } };
    }
    const key = rowKeys.get(index);
    if (key === undefined || typeof next.key !== 'object') return next;
    const values = next.key;
    const answer = answers.get(key)!;
    if ('fault' in answer) {
      faults.set(index, { ...answer.fault, message: `row ${row.rowNumber}: ${answer.fault.message}` });
      return row;
    }
    if (answer.ids.length > 1) {
      faults.set(index, {
        code: 'AmbiguousKey',
        httpStatus: 409,
        message: `row ${row.rowNumber}: several ${table.logicalName} records have ${describe(values)}`,
      });
      return row;
    }
    const found = answer.ids[0];
    // As an upsert by key does: on update the key columns stay as they are; on create they come from the key.
    if (next.operation === 'upsert')
      return found
        ? { ...next, key: found }
        : {
            ...next,
            key: idForKey(table.entitySetName, values),
            body: { ...next.body, ...values },
          };
    if (found) return { ...next, key: found };
    if (next.operation === 'delete' && o.isRetry) return next; // settled below: gone after an earlier attempt
    faults.set(index, {
      code: notFoundCode,
      httpStatus: 404,
      message: `row ${row.rowNumber}: ${table.logicalName} With ${describe(values)} Does Not Exist`,
    });
    return row;
  });
  return { rows: out, faults };
}

/** Whether a row is a retried delete whose unaddressable key found no record (done by the earlier attempt). */
export function isSettledDelete(resolution: KeyResolution, index: number, isRetry: boolean): boolean {
  const row = resolution.rows[index]!;
  return (
    isRetry &&
    !resolution.faults.has(index) &&
    row.operation === 'delete' &&
    typeof row.key === 'object' &&
    unaddressable(row.key) !== undefined
  );
}
