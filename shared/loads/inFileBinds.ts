/**
 * The second pass of one file (issue 15): a row whose lookup to its own table names, by a key column of the file,
 * a row that may not exist yet when it is sent (later in the file, in another chunk: plans/inFileReferences.ts) is
 * created without that lookup and bound once every chunk is done.
 * - scan: `InFileReferenceScan` sees each row's key and references; the decision per chunk is saved before any
 *   chunk message is sent (`bind-plan-<chunk>` in the load's partition of the `loads` table).
 * - chunk: `deferChunkBinds` leaves those binds (and a plan's cross-table binds, planBinds.ts) out of the rows'
 *   bodies; `keepChunkBinds` stores those of the rows that were written, both kinds, packed per chunk
 *   (`bind-chunk-<chunk>`: a few entities, not one per row; a retried chunk merges with what it stored before).
 * - end: `runBindPass` (bindPass.ts, from tryFinalize) binds them, once.
 * Files without such a lookup never get here (`PlannedLoad.inFileBinds` unset): no per-row work, no extra request.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { ConvertedRow, KeyedBind } from '../ingestion/rowConversion';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import { ConflictError, isRestErrorWithStatus } from '../errors';
import { inFileReferences, type RowReferences } from '../plans/inFileReferences';
import { splitBody } from '../plans/secondPass';
import type { RowOutcome } from './chunkExecution';
import { LOAD_ROW_KEY } from './loadRecord';
import type { CrossTableColumn } from './planBinds';

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

/** A lookup by a key value no URL can carry (rowConversion KeyedBind): resolved to an id when it is bound. */
const keyedBindSchema = z.object({
  property: z.string(),
  column: z.string(),
  target: z.object({
    table: z.string(),
    entitySetName: z.string(),
    navigationProperty: z.string(),
    primaryIdAttribute: z.string().optional(),
  }),
  attribute: z.string(),
  value: z.string(),
}) satisfies z.ZodType<KeyedBind>;

/**
 * A written row's deferred binds (kept with its chunk's, `bind-chunk-<chunk>`): the record, the binds, and what
 * messages and reports need.
 */
const pendingBindSchema = z.object({
  rowNumber: z.number().int(),
  line: z.number().int(),
  chunkIndex: z.number().int(),
  /** The row's record: its id, or its alternate key (upserts). */
  record: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))]),
  binds: z.record(z.string(), z.string()),
  keyed: z.array(keyedBindSchema).optional(),
  /** What was deferred, for messages: each column, its value and the `@odata.bind` property it became. */
  references: z.array(z.object({ column: z.string(), value: z.string(), property: z.string().optional() })),
  rowJson: z.string(),
});
export type PendingBind = z.infer<typeof pendingBindSchema>;
const pendingPartSchema = z.array(pendingBindSchema);

/** The binds as JSON arrays of at most maxPartCharacters each (a bind longer than that alone in its part). */
function packParts(binds: PendingBind[]): string[] {
  const parts: string[] = [];
  let current: string[] = [];
  let length = 2;
  for (const b of binds) {
    const text = JSON.stringify(b);
    if (current.length > 0 && length + 1 + text.length > maxPartCharacters) {
      parts.push(`[${current.join(',')}]`);
      current = [];
      length = 2;
    }
    current.push(text);
    length += text.length + (current.length > 1 ? 1 : 0);
  }
  if (current.length > 0) parts.push(`[${current.join(',')}]`);
  return parts;
}

const json = <T extends z.ZodType>(schema: T, text: unknown) => schema.parse(JSON.parse(String(text)));
const planRowKey = (chunkIndex: number) => `bind-plan-${String(chunkIndex).padStart(6, '0')}`;
const partKeyOf = (chunkKey: string, part: number) => `${chunkKey}-${String(part).padStart(4, '0')}`;
const chunkBindsKey = (chunkIndex: number) => `bind-chunk-${String(chunkIndex).padStart(6, '0')}`;
const chunkBindsPartKey = (chunkIndex: number, part: number) => partKeyOf(chunkBindsKey(chunkIndex), part);
/**
 * A part holds this many characters of a chunk's pending binds at most: a Table string property holds 32K UTF-16
 * characters. Packed, a chunk's binds are a few entities where one per row made a 1000-row chunk write up to 1000,
 * against a partition's 2,000 entities a second (Azure Table scalability targets) and the chunk's time.
 */
const maxPartCharacters = 30_000;
/** Parts per transaction: at most 100 operations and 4 MiB of payload (30K characters, escaped, stay under 120 KB). */
const partsPerTransaction = 25;
const passDoneRowKey = 'bind-pass-done';

/** The second pass's entities, in each load's partition of the `loads` table. */
export interface InFileBindStore {
  saveChunkDeferrals(loadId: string, byChunk: Map<number, ChunkDeferrals>): Promise<void>;
  chunkDeferrals(loadId: string, chunkIndex: number): Promise<ChunkDeferrals>;
  /** Keeps a chunk's pending binds, merged by row with what a previous delivery of the chunk kept. */
  putPending(loadId: string, chunkIndex: number, binds: PendingBind[]): Promise<void>;
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
  /** A chunk's pending binds as kept, or undefined when none were. */
  async function readChunkBinds(loadId: string, chunkIndex: number): Promise<PendingBind[] | undefined> {
    const count = await missingIs(undefined, async () => {
      const header = await loads.getEntity<{ parts: number }>(loadId, chunkBindsKey(chunkIndex));
      return header.parts;
    });
    if (count === undefined) return undefined;
    const found: PendingBind[] = [];
    for (let part = 0; part < count; part++) {
      const entity = await loads.getEntity<{ pendingJson: string }>(loadId, chunkBindsPartKey(chunkIndex, part));
      found.push(...json(pendingPartSchema, entity.pendingJson));
    }
    return found;
  }
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
    async putPending(loadId, chunkIndex, binds) {
      const before = await readChunkBinds(loadId, chunkIndex);
      const byRow = new Map([...(before ?? []), ...binds].map((b) => [b.rowNumber, b]));
      const parts = packParts([...byRow.values()].sort((a, b) => a.rowNumber - b.rowNumber));
      // Parts first, then the count that makes them visible: a crash between leaves the previous count's parts.
      for (let i = 0; i < parts.length; i += partsPerTransaction)
        await loads.submitTransaction(
          parts
            .slice(i, i + partsPerTransaction)
            .map((pendingJson, k) => [
              'upsert',
              { partitionKey: loadId, rowKey: chunkBindsPartKey(chunkIndex, i + k), pendingJson },
            ]),
        );
      await loads.upsertEntity({ partitionKey: loadId, rowKey: chunkBindsKey(chunkIndex), parts: parts.length });
    },
    async listPending(loadId) {
      const headers = new Map<string, number>();
      const parts = new Map<string, string>();
      const found: PendingBind[] = [];
      const filter = odata`PartitionKey eq ${loadId} and RowKey ge 'bind-chunk-' and RowKey lt 'bind-chunk.'`;
      for await (const e of loads.listEntities<{ parts?: number; pendingJson?: string }>({ queryOptions: { filter } }))
        if (typeof e.parts === 'number') headers.set(e.rowKey!, e.parts);
        else if (typeof e.pendingJson === 'string') parts.set(e.rowKey!, e.pendingJson);
      for (const [key, count] of headers)
        for (let part = 0; part < count; part++)
          found.push(...json(pendingPartSchema, parts.get(partKeyOf(key, part))));
      // One entity per row, as loads begun before the binds were packed per chunk kept them.
      const legacy = odata`PartitionKey eq ${loadId} and RowKey ge 'bind-row-' and RowKey lt 'bind-row.'`;
      for await (const e of loads.listEntities<{ pendingJson: string }>({ queryOptions: { filter: legacy } }))
        found.push(json(pendingBindSchema, e.pendingJson));
      return found.sort((a, b) => a.rowNumber - b.rowNumber);
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

type HeldBinds = Map<number, Pick<PendingBind, 'record' | 'binds' | 'keyed' | 'references'>>;

/** What a chunk defers: the scan's in-file decision (files with in-file binds) and its plan's cross-table columns. */
export interface ChunkDeferral {
  inFile: boolean;
  crossTable: readonly CrossTableColumn[];
}

/**
 * Leaves the chunk's deferred binds out of the rows' bodies (and out of the key look-ups made before sending: a
 * cross-table target doesn't exist yet); what was left out, by row number.
 */
export async function deferChunkBinds(
  store: InFileBindStore,
  loadId: string,
  chunkIndex: number,
  plan: LoadPlan,
  states: ChunkRowState[],
  deferral: ChunkDeferral,
): Promise<HeldBinds> {
  const held: HeldBinds = new Map();
  const columnsOf = new Map<number, string[]>();
  if (deferral.inFile)
    for (const [column, rows] of Object.entries(await store.chunkDeferrals(loadId, chunkIndex)))
      for (const rowNumber of rows) columnsOf.set(rowNumber, [...(columnsOf.get(rowNumber) ?? []), column]);
  if (columnsOf.size === 0 && deferral.crossTable.length === 0) return held;
  const lookups = new Map(columnsOf.size > 0 ? inFileLookups(plan).map((l) => [l.column, l]) : []);
  for (const s of states) {
    const converted = s.converted;
    if (!converted || !s.row.ok) continue;
    const record = converted.recordId ?? converted.key;
    if (record === undefined) continue;
    const values = s.row.values;
    const candidates: { column: string; value: string; properties: readonly string[] }[] = [];
    for (const column of columnsOf.get(s.row.rowNumber) ?? []) {
      const value = keyText(values[column]);
      const lookup = lookups.get(column);
      if (value !== undefined && lookup) candidates.push({ column, value, properties: [lookup.property] });
    }
    for (const c of deferral.crossTable) {
      const value = keyText(values[c.column]);
      if (value !== undefined) candidates.push({ column: c.column, value, properties: c.properties });
    }
    if (candidates.length === 0) continue;
    const keys = new Set(candidates.flatMap((c) => c.properties));
    const { first, binds } = splitBody(converted.body, keys);
    const keyed = converted.keyedBinds?.filter((k) => keys.has(k.property)) ?? [];
    if (!binds && keyed.length === 0) continue;
    converted.body = first;
    if (keyed.length > 0) converted.keyedBinds = converted.keyedBinds!.filter((k) => !keys.has(k.property));
    // Each column with the property it was left out as (a polymorphic column: its row's target's).
    const references = candidates.flatMap(({ column, value, properties }) => {
      const property = properties.find((p) => binds?.[p] !== undefined || keyed.some((k) => k.property === p));
      return property ? [{ column, value, property }] : [];
    });
    held.set(s.row.rowNumber, {
      record,
      binds: z.record(z.string(), z.string()).parse(binds ?? {}),
      references,
      // What the bind needs of each (the schema leaves out the rest of the target's metadata).
      ...(keyed.length > 0 ? { keyed: keyed.map((k) => keyedBindSchema.parse(k)) } : {}),
    });
  }
  return held;
}

/** The longest row a pending bind keeps whole, as escaped in it (for the failed-rows file, should its bind fail). */
const maxKeptRow = 20_000;

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
    let rowJson = rowJsonOf(s.row);
    // A Table string property holds 32K characters: with its binds and JSON escapes, a long row is kept cut.
    if (JSON.stringify(rowJson).length > maxKeptRow)
      rowJson = JSON.stringify({
        raw: `${s.row.raw.slice(0, maxKeptRow / 8)}… (row cut: ${s.row.raw.length} characters)`,
      });
    pending.push({ rowNumber: s.row.rowNumber, line: s.row.line, chunkIndex, ...h, rowJson });
  }
  if (pending.length > 0) await store.putPending(loadId, chunkIndex, pending);
}
