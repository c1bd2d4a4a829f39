/**
 * The second pass, at the end of a load whose rows wait for binds (in-file: inFileBinds.ts; cross-table, a plan's
 * cycle: planBinds.ts): one pass for both kinds, run by tryFinalize before it claims the end. Each pending bind
 * becomes an update of its row: in UpdateMultiple by id (a row addressed by alternate key first finds its id by
 * `$filter`), else as `PATCH <set>(<key>)` with `If-Match: *` in `$batch`; both are update-only, so re-sending after
 * a crash never creates or duplicates a record. A record or target keyed by a value no URL can carry is first found
 * by `$filter` (keyResolution.ts), here rather than when the row was created, since the target may not have existed
 * then. A row's binds go in one update, tried again column by column when it finds nothing to bind to. A bind that
 * fails turns its row into a failed row; the count change is one transaction with the `bind-pass-done` marker, so it
 * happens once.
 */
import type { ConvertedRow } from '../ingestion/rowConversion';
import type { TableMetadata } from '../ingestion/tableMetadata';
import { unboundMessage } from '../plans/inFileReferences';
import { bindRequest } from '../plans/secondPass';
import { z } from 'zod';
import { odataLiteral, type CallOptions } from '../dataverse/index';
import type { KeyValue } from '../ingestion/odataKeys';
import { callOptionsOf } from './chunkExecution';
import type { PendingBind } from './inFileBinds';
import { resolveUnaddressableKeys } from './keyResolution';
import { isoAt, type LoadContext } from './loadContext';
import type { FailedRowRecord, LoadRecord } from './loadRecord';

interface BindFault {
  code: string;
  status: number;
  message: string;
}

type Reference = PendingBind['references'][number];

/** One PATCH: a row's record with some of its binds (all of them first; one column's after a 404 on several). */
interface BindUnit {
  p: PendingBind;
  references: Reference[];
  binds: PendingBind['binds'];
  keyed?: PendingBind['keyed'];
}

const wholeUnit = (p: PendingBind): BindUnit => ({
  p,
  references: p.references,
  binds: p.binds,
  ...(p.keyed ? { keyed: p.keyed } : {}),
});

/** A unit per column, so that the binds that match something are made when one of the row's doesn't. */
function unitsPerColumn(unit: BindUnit): BindUnit[] {
  return unit.references.map((r) => {
    const keyed = unit.keyed?.filter((k) => k.property === r.property);
    return {
      p: unit.p,
      references: [r],
      binds:
        r.property !== undefined && unit.binds[r.property] !== undefined
          ? { [r.property]: unit.binds[r.property]! }
          : {},
      ...(keyed?.length ? { keyed } : {}),
    };
  });
}

/** What matched nothing, in words: the column and value, or every column of a PATCH that bound several. */
function unboundText(rowNumber: number, references: Reference[], fault: BindFault): string {
  const [only, ...more] = references;
  if (fault.status !== 404)
    return references
      .map((r) => `row ${rowNumber}, column '${r.column}': binding '${r.value}' failed: ${fault.message}`)
      .join('; ');
  if (only && more.length === 0) return unboundMessage(rowNumber, only.column, only.value);
  const named = references.map((r) => `'${r.column}' ('${r.value}')`).join(', ');
  return `row ${rowNumber}, columns ${named}: one of them matches no row of the plan or of Dataverse (${fault.message}), so none of these lookups was bound (the row was created without them)`;
}

/** The failed row of the binds that failed, in the shape chunks report theirs (column, value, Dataverse's own text). */
function bindFailure(
  p: PendingBind,
  failed: { references: Reference[]; fault: BindFault }[],
  primaryIdAttribute: string,
): FailedRowRecord {
  const first = failed[0]!;
  const reference = first.references[0];
  return {
    rowNumber: p.rowNumber,
    line: p.line,
    chunkIndex: p.chunkIndex,
    code: 'LookupNotBound',
    message: failed.map((f) => unboundText(p.rowNumber, f.references, f.fault)).join('; '),
    ...(reference ? { column: reference.column, value: reference.value } : {}),
    ...(first.fault.code ? { dataverseCode: first.fault.code } : {}),
    dataverseMessage: first.fault.message,
    keyJson: JSON.stringify(typeof p.record === 'string' ? { [primaryIdAttribute]: p.record } : p.record),
    rowJson: p.rowJson,
  };
}

/**
 * Binds per slice of the second pass, sent as one UpdateMultiple (or ExecuteMultiple) once its keyed rows' ids are
 * found: as many as a chunk's bulk request, so each request's fixed cost is paid once per 1000 rows, not five times.
 */
const bindsPerRequest = 1000;

/**
 * A `$filter` of keys stays under this many characters: Dataverse's Web API takes URLs up to 32 KB (dataverse-wire.md,
 * "Maximum URL length"), and one query per 200 or so keys costs one request where 200 rows would otherwise be updated by key.
 */
const maxFilterLength = 16_000;

const recordsPage = z.object({ value: z.array(z.record(z.string(), z.unknown())) });
/** A key's values as Dataverse's unique index compares them (case-insensitive). */
const keyIdentity = (values: Record<string, unknown>, attributes: string[]) =>
  JSON.stringify(attributes.map((a) => (typeof values[a] === 'string' ? values[a].toLowerCase() : values[a])));

/**
 * The ids of rows addressed by alternate key (an upsert's rows: UpsertMultiple answers no ids), found by `$filter`
 * (`k eq 'A-1' or k eq 'A-2' …`, one query per slice of rows, cut to stay under the URL limit), so their binds go in UpdateMultiple too. A key no record
 * has, or one with a lookup part, is left out: its row keeps its `PATCH` by key.
 */
async function idsOfKeyedRows(
  ctx: LoadContext,
  table: TableMetadata,
  callOptions: CallOptions,
  keys: Record<string, KeyValue>[],
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const byShape = new Map<string, Record<string, KeyValue>[]>();
  for (const key of keys) {
    const attributes = Object.keys(key).sort();
    if (attributes.some((a) => /^_.+_value$/.test(a))) continue;
    const shape = attributes.join(',');
    const list = byShape.get(shape) ?? [];
    list.push(key);
    byShape.set(shape, list);
  }
  for (const [shape, list] of byShape) {
    const attributes = shape.split(',');
    const terms = list.map((k) => `(${attributes.map((a) => `${a} eq ${odataLiteral(k[a]!)}`).join(' and ')})`);
    for (let start = 0; start < terms.length;) {
      let end = start + 1;
      let length = encodeURIComponent(terms[start]!).length;
      while (end < terms.length && length + encodeURIComponent(` or ${terms[end]!}`).length <= maxFilterLength)
        length += encodeURIComponent(` or ${terms[end++]!}`).length;
      const filter = terms.slice(start, end).join(' or ');
      start = end;
      const select = [table.primaryIdAttribute, ...attributes].join(',');
      const answer = await ctx.client.send(
        {
          method: 'GET',
          path: `${table.entitySetName}?$select=${select}&$filter=${encodeURIComponent(filter)}`,
          retrySafe: true,
        },
        callOptions,
      );
      for (const record of recordsPage.parse(answer.body).value) {
        const id = record[table.primaryIdAttribute];
        if (typeof id === 'string') ids.set(keyIdentity(record, attributes), id);
      }
    }
  }
  return ids;
}

/** Sends the units (records and targets keyed by unaddressable values found first); the units that failed. */
async function sendUnits(
  ctx: LoadContext,
  table: TableMetadata,
  callOptions: CallOptions,
  units: BindUnit[],
): Promise<{ unit: BindUnit; fault: BindFault }[]> {
  const rows: ConvertedRow[] = units.map(({ p, binds, keyed }) => ({
    ok: true,
    rowNumber: p.rowNumber,
    line: p.line,
    operation: 'update',
    body: binds,
    key: p.record,
    ...(keyed ? { keyedBinds: keyed } : {}),
  }));
  const resolution = await resolveUnaddressableKeys(
    { client: ctx.client, plan: { table }, callOptions, isRetry: false },
    rows,
  );
  const failed: { unit: BindUnit; fault: BindFault }[] = [];
  for (const [index, f] of resolution.faults)
    failed.push({ unit: units[index]!, fault: { code: f.code, status: f.httpStatus, message: f.message } });
  const sendable = units.map((_, index) => index).filter((index) => !resolution.faults.has(index));
  // Rows addressed by id go in one UpdateMultiple (a bulk message: a quarter of a `$batch` update's cost); the
  // client isolates the rows of a failed one by `$batch` updates, which carry If-Match: * like bindRequest.
  const keyOf = (index: number) => resolution.rows[index]!.key!;
  const keyed = sendable.map(keyOf).filter((key): key is Record<string, KeyValue> => typeof key === 'object');
  const idsByKey = keyed.length > 0 ? await idsOfKeyedRows(ctx, table, callOptions, keyed) : new Map<string, string>();
  const idOf = (index: number) => {
    const key = keyOf(index);
    return typeof key === 'string' ? key : idsByKey.get(keyIdentity(key, Object.keys(key).sort()));
  };
  const byId = sendable.filter((index) => idOf(index) !== undefined);
  const byKey = sendable.filter((index) => idOf(index) === undefined);
  if (byId.length > 0) {
    const answer = await ctx.client.updateMultiple(
      table.entitySetName,
      table.logicalName,
      byId.map((index) => ({ id: idOf(index)!, attributes: resolution.rows[index]!.body })),
      { ...callOptions, primaryIdAttribute: table.primaryIdAttribute },
    );
    for (const item of answer.results) {
      const index = byId[item.index];
      if (index !== undefined && item.fault) failed.push({ unit: units[index]!, fault: item.fault });
    }
  }
  if (byKey.length === 0) return failed;
  const answer = await ctx.client.executeMultiple(
    byKey.map((index) => {
      const row = resolution.rows[index]!;
      const r = bindRequest(table.entitySetName, row.key!, row.body);
      return {
        kind: 'webApi',
        request: { method: r.method, path: r.url, headers: r.headers, body: r.body, retrySafe: true },
      };
    }),
    { continueOnError: true, returnResponses: false },
    callOptions,
  );
  for (const item of answer.responses) {
    const index = byKey[item.requestIndex];
    if (index !== undefined && item.fault) failed.push({ unit: units[index]!, fault: item.fault });
  }
  return failed;
}

/**
 * One slice's binds: each row's binds in one PATCH; a row whose PATCH of several columns' binds found nothing to
 * bind to is tried again column by column, so its binds that match bind and the failed row names what didn't.
 */
async function bindSlice(
  ctx: LoadContext,
  record: LoadRecord,
  table: TableMetadata,
  slice: PendingBind[],
): Promise<FailedRowRecord[]> {
  const callOptions = callOptionsOf(record.plan!.profile);
  const failed = await sendUnits(ctx, table, callOptions, slice.map(wholeUnit));
  const splittable = (f: { unit: BindUnit; fault: BindFault }) =>
    f.fault.status === 404 && f.unit.references.length > 1 && f.unit.references.every((r) => r.property);
  const again = failed.filter(splittable).flatMap((f) => unitsPerColumn(f.unit));
  const final = [
    ...failed.filter((f) => !splittable(f)),
    ...(again.length > 0 ? await sendUnits(ctx, table, callOptions, again) : []),
  ];
  const byRow = new Map<PendingBind, { references: Reference[]; fault: BindFault }[]>();
  for (const { unit, fault } of final)
    byRow.set(unit.p, [...(byRow.get(unit.p) ?? []), { references: unit.references, fault }]);
  return [...byRow].map(([p, faults]) => bindFailure(p, faults, table.primaryIdAttribute));
}

/** The end of a load with deferred binds: binds every pending row, once (see the module comment). */
export async function runBindPass(ctx: LoadContext, record: LoadRecord): Promise<void> {
  const store = ctx.inFileBinds;
  if (!store || !record.plan || (await store.isPassDone(record.id))) return;
  const pending = await store.listPending(record.id);
  const table = await ctx.metadata.get(record.table);
  // Slices run side by side: the client's concurrency (x-ms-dop-hint, 429s) paces them, as it paces chunks.
  const slices: PendingBind[][] = [];
  for (let i = 0; i < pending.length; i += bindsPerRequest) slices.push(pending.slice(i, i + bindsPerRequest));
  const failures = (await Promise.all(slices.map((slice) => bindSlice(ctx, record, table, slice)))).flat();
  // A row already reported failed by its chunk (it gave up after an earlier attempt wrote the row) is not counted
  // twice; a failed bind recorded by a pass that crashed before completing is counted by this one.
  let newFailures = failures;
  if (failures.length > 0) {
    const reported = new Set<number>();
    for await (const f of ctx.store.listFailedRows(record.id))
      if (f.code !== 'LookupNotBound') reported.add(f.rowNumber);
    newFailures = failures.filter((f) => !reported.has(f.rowNumber));
    await ctx.store.putFailedRows(record.id, newFailures);
  }
  const applied = await store.completePass(record.id, newFailures.length, isoAt(ctx.now()));
  ctx.log?.info('Second pass done', {
    loadId: record.id,
    binds: pending.length,
    failed: newFailures.length,
    applied,
  });
}
