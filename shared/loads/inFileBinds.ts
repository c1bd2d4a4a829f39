/**
 * The second pass of one file (issue 15): a row whose lookup to its own table names, by a key column of the file,
 * a row that may not exist yet when it is sent (later in the file, in another chunk: plans/inFileReferences.ts) is
 * created without that lookup and bound once every chunk is done.
 * - scan: `InFileReferenceScan` sees each row's key and references; the decision per chunk is saved before any
 *   chunk message is sent (`bind-plan-<chunk>` in the load's partition of the `loads` table).
 * - chunk: `deferChunkBinds` leaves those binds out of the rows' bodies; `keepChunkBinds` stores one entity per row
 *   that was written (`bind-row-<row>`, an upsert: a retried chunk writes the same entity).
 * - end: `runBindPass` (from tryFinalize) sends `PATCH <set>(<row>)` with `If-Match: *` for each (update-only, so
 *   re-sending after a crash never creates or duplicates); a bind that fails turns its row into a failed row, and
 *   the count change is applied in one transaction with the `bind-pass-done` marker, so it happens once.
 * Files without such a lookup never get here (`PlannedLoad.inFileBinds` unset): no per-row work, no extra request.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { RecordKey } from '../dataverse/organizationRequest';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { ConvertedRow } from '../ingestion/rowConversion';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import { ConflictError, isRestErrorWithStatus } from '../errors';
import { inFileReferences, unboundMessage, type RowReferences } from '../plans/inFileReferences';
import { bindRequest, splitBody } from '../plans/secondPass';
import { callOptionsOf, type RowOutcome } from './chunkExecution';
import { isoAt, type LoadContext } from './loadContext';
import { LOAD_ROW_KEY, type FailedRowRecord, type LoadRecord } from './loadRecord';

/** A lookup of the file to its own table by a key attribute whose column the file also has. */
export interface InFileLookup {
  /** The lookup's column and its `<nav>@odata.bind` property. */
  column: string;
  property: string;
  /** The column holding each row's own value of the key the lookup names (accountnumber). */
  keyColumn: string;
}

/** The file's lookups that can name rows of the same file (one key column: the first such lookup's). */
export function inFileLookups(plan: LoadPlan): InFileLookup[] {
  const columnOf = new Map<string, string>();
  for (const b of plan.bindings) if (b.kind === 'attribute') columnOf.set(b.attribute.logicalName, b.column);
  if (plan.key?.kind === 'alternateKey')
    plan.key.attributes.forEach((a, i) =>
      columnOf.set(a, plan.key!.kind === 'alternateKey' ? plan.key!.columns[i]! : a),
    );
  const found: InFileLookup[] = [];
  for (const b of plan.bindings) {
    if (b.kind !== 'lookup' || b.by === 'id' || b.targets.length !== 1) continue;
    const target = b.targets[0]!;
    const keyColumn = columnOf.get(b.by);
    if (target.table !== plan.table.logicalName || !keyColumn) continue;
    if (found.length > 0 && found[0]!.keyColumn !== keyColumn) continue;
    found.push({ column: b.column, property: `${target.navigationProperty}@odata.bind`, keyColumn });
  }
  return found;
}

/** A key value as convertRow binds it (exactly as written); empty cells name nothing. */
function keyText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Deferred columns of one chunk: column → row numbers. */
const chunkDeferralsSchema = z.record(z.string(), z.array(z.number().int()));
type ChunkDeferrals = z.infer<typeof chunkDeferralsSchema>;

/** Shared by the rows that name no row (most of a file): one array, not one per row. */
const noReferences: RowReferences['references'] = [];

/** Collects each row's key and references during the scan (memory: one entry per row with a key or reference). */
export class InFileReferenceScan {
  private readonly rows: RowReferences[] = [];
  constructor(private readonly lookups: readonly InFileLookup[]) {}

  add(row: SourceRowResult): void {
    if (!row.ok) return;
    const key = keyText(row.values[this.lookups[0]!.keyColumn]);
    let references: RowReferences['references'] = noReferences;
    for (const l of this.lookups) {
      const value = keyText(row.values[l.column]);
      if (value !== undefined) references = [...references, { column: l.column, value }];
    }
    if (key !== undefined || references.length > 0)
      this.rows.push({ rowNumber: row.rowNumber, ...(key !== undefined ? { key } : {}), references });
  }

  /** The deferred columns of each chunk (chunks without any are absent). */
  finish(options: { chunkSize: number; inOrderWithinChunk: boolean }): Map<number, ChunkDeferrals> {
    const byChunk = new Map<number, ChunkDeferrals>();
    for (const d of inFileReferences(this.rows, options)) {
      const chunkIndex = Math.floor((d.rowNumber - 1) / options.chunkSize);
      const deferrals = byChunk.get(chunkIndex) ?? {};
      for (const column of d.deferred) (deferrals[column] ??= []).push(d.rowNumber);
      byChunk.set(chunkIndex, deferrals);
    }
    return byChunk;
  }
}

const pendingBindSchema = z.object({
  rowNumber: z.number().int(),
  line: z.number().int(),
  chunkIndex: z.number().int(),
  record: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))]),
  binds: z.record(z.string(), z.string()),
  references: z.array(z.object({ column: z.string(), value: z.string() })),
  rowJson: z.string(),
});
type PendingBind = z.infer<typeof pendingBindSchema>;

const json = <T extends z.ZodType>(schema: T, text: unknown) => schema.parse(JSON.parse(String(text)));
const planRowKey = (chunkIndex: number) => `bind-plan-${String(chunkIndex).padStart(6, '0')}`;
const bindRowKey = (rowNumber: number) => `bind-row-${String(rowNumber).padStart(10, '0')}`;
const passDoneRowKey = 'bind-pass-done';

/** The second pass's entities, in each load's partition of the `loads` table. */
export interface InFileBindStore {
  saveChunkDeferrals(loadId: string, byChunk: Map<number, ChunkDeferrals>): Promise<void>;
  chunkDeferrals(loadId: string, chunkIndex: number): Promise<ChunkDeferrals>;
  putPending(loadId: string, binds: PendingBind[]): Promise<void>;
  listPending(loadId: string): Promise<PendingBind[]>;
  isPassDone(loadId: string): Promise<boolean>;
  /** Marks the pass done and moves `failedRows` rows from succeeded to failed, once; false if it was done already. */
  completePass(loadId: string, failedRows: number, at: string): Promise<boolean>;
}

export function createInFileBindStore(loads: TableClient): InFileBindStore {
  async function upsertAll(loadId: string, entities: Record<string, unknown>[]) {
    for (let i = 0; i < entities.length; i += 100)
      await loads.submitTransaction(
        entities.slice(i, i + 100).map((e) => ['upsert', { partitionKey: loadId, rowKey: String(e.rowKey), ...e }]),
      );
  }
  const missingIs = async <T>(fallback: T, read: () => Promise<T>) => {
    try {
      return await read();
    } catch (error) {
      if (isRestErrorWithStatus(error, 404)) return fallback;
      throw error;
    }
  };
  return {
    saveChunkDeferrals: (loadId, byChunk) =>
      upsertAll(
        loadId,
        [...byChunk].map(([chunkIndex, d]) => ({ rowKey: planRowKey(chunkIndex), deferralsJson: JSON.stringify(d) })),
      ),
    chunkDeferrals: (loadId, chunkIndex) =>
      missingIs({}, async () => {
        const entity = await loads.getEntity<{ deferralsJson: string }>(loadId, planRowKey(chunkIndex));
        return json(chunkDeferralsSchema, entity.deferralsJson);
      }),
    putPending: (loadId, binds) =>
      upsertAll(
        loadId,
        binds.map((b) => ({ rowKey: bindRowKey(b.rowNumber), pendingJson: JSON.stringify(b) })),
      ),
    async listPending(loadId) {
      const found: PendingBind[] = [];
      const filter = odata`PartitionKey eq ${loadId} and RowKey ge 'bind-row-' and RowKey lt 'bind-row.'`;
      for await (const e of loads.listEntities<{ pendingJson: string }>({ queryOptions: { filter } }))
        found.push(json(pendingBindSchema, e.pendingJson));
      return found;
    },
    isPassDone: (loadId) =>
      missingIs(false, async () => {
        await loads.getEntity(loadId, passDoneRowKey, { queryOptions: { select: ['PartitionKey'] } });
        return true;
      }),
    async completePass(loadId, failedRows, at) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const load = await loads.getEntity<{ succeeded: number; failed: number }>(loadId, LOAD_ROW_KEY);
        try {
          await loads.submitTransaction([
            ['create', { partitionKey: loadId, rowKey: passDoneRowKey, failedRows, at }],
            [
              'update',
              {
                partitionKey: loadId,
                rowKey: LOAD_ROW_KEY,
                succeeded: load.succeeded - failedRows,
                failed: load.failed + failedRows,
                updatedAt: at,
              },
              'Merge',
              { etag: load.etag },
            ],
          ]);
          return true;
        } catch (error) {
          // 409: another finalizer completed the pass first; 412: the record moved, read it again.
          if (isRestErrorWithStatus(error, 409)) return false;
          if (!isRestErrorWithStatus(error, 412)) throw error;
        }
      }
      throw new ConflictError('LoadStoreConflict', `Load ${loadId} kept changing while its second pass completed`);
    },
  };
}

interface ChunkRowState {
  row: SourceRowResult;
  converted?: ConvertedRow;
  outcome?: RowOutcome;
}

type HeldBinds = Map<
  number,
  { record: RecordKey; binds: Record<string, string>; references: PendingBind['references'] }
>;

/** Leaves the chunk's deferred binds out of the rows' bodies; what was left out, by row number. */
export async function deferChunkBinds(
  store: InFileBindStore,
  loadId: string,
  chunkIndex: number,
  plan: LoadPlan,
  states: ChunkRowState[],
): Promise<HeldBinds> {
  const held: HeldBinds = new Map();
  const deferrals = await store.chunkDeferrals(loadId, chunkIndex);
  const columnsOf = new Map<number, string[]>();
  for (const [column, rows] of Object.entries(deferrals))
    for (const rowNumber of rows) columnsOf.set(rowNumber, [...(columnsOf.get(rowNumber) ?? []), column]);
  if (columnsOf.size === 0) return held;
  const lookups = new Map(inFileLookups(plan).map((l) => [l.column, l]));
  for (const s of states) {
    const columns = s.converted && columnsOf.get(s.row.rowNumber);
    if (!columns || !s.row.ok) continue;
    const values = s.row.values;
    const record = s.converted!.recordId ?? s.converted!.key;
    if (record === undefined) continue;
    const references = columns.flatMap((column) => {
      const value = keyText(values[column]);
      return value !== undefined && lookups.has(column) ? [{ column, value }] : [];
    });
    const keys = new Set(references.map((r) => lookups.get(r.column)!.property));
    const { first, binds } = splitBody(s.converted!.body, keys);
    if (!binds) continue;
    s.converted!.body = first;
    held.set(s.row.rowNumber, { record, binds: z.record(z.string(), z.string()).parse(binds), references });
  }
  return held;
}

/** Stores the held binds of the rows that were written, before the chunk completes. */
export async function keepChunkBinds(
  store: InFileBindStore,
  loadId: string,
  chunkIndex: number,
  held: HeldBinds,
  states: ChunkRowState[],
  rowJsonOf: (row: SourceRowResult) => string,
): Promise<void> {
  const pending: PendingBind[] = [];
  for (const s of states) {
    const h = held.get(s.row.rowNumber);
    if (!h || s.outcome?.status !== 'succeeded') continue;
    pending.push({ rowNumber: s.row.rowNumber, line: s.row.line, chunkIndex, ...h, rowJson: rowJsonOf(s.row) });
  }
  if (pending.length > 0) await store.putPending(loadId, pending);
}

/** The failed row of a bind that failed, in the shape chunks report theirs (column, value, Dataverse's own text). */
function bindFailure(
  p: PendingBind,
  fault: { code: string; status: number; message: string },
  primaryIdAttribute: string,
): FailedRowRecord {
  const what = p.references.map((r) =>
    fault.status === 404
      ? unboundMessage(p.rowNumber, r.column, r.value)
      : `row ${p.rowNumber}, column '${r.column}': binding '${r.value}' failed: ${fault.message}`,
  );
  return {
    rowNumber: p.rowNumber,
    line: p.line,
    chunkIndex: p.chunkIndex,
    code: 'LookupNotBound',
    message: what.join('; '),
    ...(p.references[0] ? { column: p.references[0].column, value: p.references[0].value } : {}),
    ...(fault.code ? { dataverseCode: fault.code } : {}),
    dataverseMessage: fault.message,
    keyJson: JSON.stringify(typeof p.record === 'string' ? { [primaryIdAttribute]: p.record } : p.record),
    rowJson: p.rowJson,
  };
}

/** Binds per ExecuteMultiple of the second pass: small enough that a few run side by side. */
const bindsPerRequest = 200;

/** The end of a load with in-file binds: binds every pending row, once (see the module comment). */
export async function runBindPass(ctx: LoadContext, record: LoadRecord): Promise<void> {
  const store = ctx.inFileBinds;
  if (!store || !record.plan || (await store.isPassDone(record.id))) return;
  const pending = await store.listPending(record.id);
  const { entitySetName, primaryIdAttribute } = await ctx.metadata.get(record.table);
  const failures: FailedRowRecord[] = [];
  // Slices run side by side: the client's concurrency (x-ms-dop-hint, 429s) paces them, as it paces chunks.
  const slices: PendingBind[][] = [];
  for (let i = 0; i < pending.length; i += bindsPerRequest) slices.push(pending.slice(i, i + bindsPerRequest));
  const answers = await Promise.all(
    slices.map((slice) =>
      ctx.client.executeMultiple(
        slice.map((p) => {
          const r = bindRequest(entitySetName, p.record, p.binds);
          return {
            kind: 'webApi',
            request: { method: r.method, path: r.url, headers: r.headers, body: r.body, retrySafe: true },
          };
        }),
        { continueOnError: true, returnResponses: false },
        callOptionsOf(record.plan!.profile),
      ),
    ),
  );
  answers.forEach((answer, s) => {
    for (const item of answer.responses) {
      const p = slices[s]![item.requestIndex];
      if (!p || !item.fault) continue;
      failures.push(bindFailure(p, item.fault, primaryIdAttribute));
    }
  });
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
