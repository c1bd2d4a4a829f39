/**
 * The second pass, at the end of a load whose rows wait for binds (in-file: inFileBinds.ts; cross-table, a plan's
 * cycle: planBinds.ts): one pass for both kinds, run by tryFinalize before it claims the end. Each `bind-row` entity
 * becomes `PATCH <set>(<row>)` with `If-Match: *` (update-only, so re-sending after a crash never creates or
 * duplicates a record); a record or target keyed by a value no URL can carry is first found by `$filter`
 * (keyResolution.ts), here rather than when the row was created, since the target may not have existed then. A
 * bind that fails turns its row into a failed row; the count change is one transaction with the `bind-pass-done`
 * marker, so it happens once.
 */
import type { ConvertedRow } from '../ingestion/rowConversion';
import type { TableMetadata } from '../ingestion/tableMetadata';
import { unboundMessage } from '../plans/inFileReferences';
import { bindRequest } from '../plans/secondPass';
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

/** What matched nothing, in words: the column and value (several deferred lookups of a row go in one PATCH). */
function unboundText(p: PendingBind, fault: BindFault): string {
  const [only, ...more] = p.references;
  if (fault.status !== 404)
    return p.references
      .map((r) => `row ${p.rowNumber}, column '${r.column}': binding '${r.value}' failed: ${fault.message}`)
      .join('; ');
  if (only && more.length === 0) return unboundMessage(p.rowNumber, only.column, only.value);
  const named = p.references.map((r) => `'${r.column}' ('${r.value}')`).join(', ');
  return `row ${p.rowNumber}, columns ${named}: one of them matches no row of the plan or of Dataverse (${fault.message}), so none of these lookups was bound (the row was created without them)`;
}

/** The failed row of a bind that failed, in the shape chunks report theirs (column, value, Dataverse's own text). */
function bindFailure(p: PendingBind, fault: BindFault, primaryIdAttribute: string): FailedRowRecord {
  return {
    rowNumber: p.rowNumber,
    line: p.line,
    chunkIndex: p.chunkIndex,
    code: 'LookupNotBound',
    message: unboundText(p, fault),
    ...(p.references[0] ? { column: p.references[0].column, value: p.references[0].value } : {}),
    ...(fault.code ? { dataverseCode: fault.code } : {}),
    dataverseMessage: fault.message,
    keyJson: JSON.stringify(typeof p.record === 'string' ? { [primaryIdAttribute]: p.record } : p.record),
    rowJson: p.rowJson,
  };
}

/** Binds per ExecuteMultiple of the second pass: small enough that a few run side by side. */
const bindsPerRequest = 200;

/** One slice's binds: records and targets keyed by unaddressable values found first, then the PATCHes. */
async function bindSlice(
  ctx: LoadContext,
  record: LoadRecord,
  table: TableMetadata,
  slice: PendingBind[],
): Promise<FailedRowRecord[]> {
  const callOptions = callOptionsOf(record.plan!.profile);
  const rows: ConvertedRow[] = slice.map((p) => ({
    ok: true,
    rowNumber: p.rowNumber,
    line: p.line,
    operation: 'update',
    body: p.binds,
    key: p.record,
    ...(p.keyed ? { keyedBinds: p.keyed } : {}),
  }));
  const resolution = await resolveUnaddressableKeys(
    { client: ctx.client, plan: { table }, callOptions, isRetry: false },
    rows,
  );
  const failures: FailedRowRecord[] = [];
  for (const [index, fault] of resolution.faults)
    failures.push(
      bindFailure(
        slice[index]!,
        { code: fault.code, status: fault.httpStatus, message: fault.message },
        table.primaryIdAttribute,
      ),
    );
  const sendable = slice.map((_, index) => index).filter((index) => !resolution.faults.has(index));
  if (sendable.length === 0) return failures;
  const answer = await ctx.client.executeMultiple(
    sendable.map((index) => {
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
    const index = sendable[item.requestIndex];
    if (index === undefined || !item.fault) continue;
    failures.push(bindFailure(slice[index]!, item.fault, table.primaryIdAttribute));
  }
  return failures;
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
