/**
 * In-memory rows: a Map per table keyed by primary id, plus one unique index per alternate key.
 * Every write is journaled while a transaction is open so a failed change set or bulk message can be
 * undone exactly. Async transactions (change sets that await between parts) keep their journal in
 * AsyncLocalStorage, so concurrent requests outside the transaction are not rolled back with it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { z } from 'zod';
import { faults } from './faults';
import type { Schema, Table } from './schema';

export interface LookupValue {
  id: string;
  table: string;
}
export type Row = Record<string, unknown>;

export const isLookupValue = (v: unknown): v is LookupValue =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as LookupValue).id === 'string' &&
  typeof (v as LookupValue).table === 'string';

interface Undo {
  table: string;
  id: string;
  before: Row | undefined;
}
interface Journal {
  entries: Undo[];
  parent: Journal | undefined;
}

interface TableRows {
  rows: Map<string, Row>;
  /** key logical name → encoded key values → id */
  keys: Map<string, Map<string, string>>;
}

const stateJson = z.object({
  version: z.literal(1),
  rowVersion: z.number().int(),
  tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
});

/** Dataverse compares key values case-insensitively (SQL collation). */
function encodeValue(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (isLookupValue(v)) return v.id;
  if (typeof v === 'string') return v.toLowerCase();
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

export function encodeKey(attributes: string[], valueOf: (attribute: string) => unknown): string | undefined {
  const parts: string[] = [];
  for (const a of attributes) {
    const e = encodeValue(valueOf(a));
    if (e === undefined) return undefined; // rows with a null key column are not indexed
    parts.push(e);
  }
  return JSON.stringify(parts);
}

export type RecordStore = ReturnType<typeof createRecordStore>;

export function createRecordStore(schema: Schema) {
  const data = new Map<string, TableRows>();
  const als = new AsyncLocalStorage<Journal>();
  let syncJournal: Journal | undefined;
  let rowVersion = 1_000_000;

  const emptyTables = () => {
    data.clear();
    for (const t of schema.tables.values())
      data.set(t.logicalName, {
        rows: new Map(),
        keys: new Map(t.keys.map((k) => [k.logicalName, new Map<string, string>()])),
      });
  };
  emptyTables();

  const tableRows = (table: string): TableRows => {
    const t = data.get(table);
    if (!t) throw new Error(`unknown table ${table}`);
    return t;
  };
  const definition = (table: string): Table => schema.tables.get(table)!;

  const unindex = (table: Table, tr: TableRows, row: Row) => {
    for (const key of table.keys) {
      const enc = encodeKey(key.attributes, (a) => row[a]);
      if (enc !== undefined) tr.keys.get(key.logicalName)!.delete(enc);
    }
  };
  const index = (table: Table, tr: TableRows, id: string, row: Row) => {
    for (const key of table.keys) {
      const enc = encodeKey(key.attributes, (a) => row[a]);
      if (enc !== undefined) tr.keys.get(key.logicalName)!.set(enc, id);
    }
  };

  /** Writes without journaling or checks (used by rollback and import). */
  const rawSet = (tableName: string, id: string, row: Row | undefined) => {
    const table = definition(tableName);
    const tr = tableRows(tableName);
    const before = tr.rows.get(id);
    if (before) unindex(table, tr, before);
    if (row) {
      tr.rows.set(id, row);
      index(table, tr, id, row);
    } else tr.rows.delete(id);
  };

  const journal = (): Journal | undefined => syncJournal ?? als.getStore();

  const rollback = (j: Journal) => {
    for (let i = j.entries.length - 1; i >= 0; i--) {
      const u = j.entries[i]!;
      rawSet(u.table, u.id, u.before);
    }
    j.entries.length = 0;
  };
  const commitInto = (j: Journal) => {
    if (!j.parent) return;
    for (const e of j.entries) j.parent.entries.push(e);
  };

  return {
    get: (table: string, id: string): Row | undefined => tableRows(table).rows.get(id),
    rows: (table: string): IterableIterator<Row> => tableRows(table).rows.values(),
    count: (table: string): number => tableRows(table).rows.size,
    /** The id of the row whose alternate key `keyName` has these values. */
    findByKey(table: string, keyName: string, valueOf: (attribute: string) => unknown): string | undefined {
      const key = definition(table).keys.find((k) => k.logicalName === keyName);
      if (!key) return undefined;
      const enc = encodeKey(key.attributes, valueOf);
      return enc === undefined ? undefined : tableRows(table).keys.get(keyName)!.get(enc);
    },
    nextRowVersion: (): number => ++rowVersion,
    /** Inserts or replaces a row; a row that collides with another row's alternate key is refused (412). */
    put(tableName: string, id: string, row: Row): void {
      const table = definition(tableName);
      const tr = tableRows(tableName);
      for (const key of table.keys) {
        const enc = encodeKey(key.attributes, (a) => row[a]);
        const owner = enc === undefined ? undefined : tr.keys.get(key.logicalName)!.get(enc);
        if (owner !== undefined && owner !== id) throw faults.duplicateKey();
      }
      journal()?.entries.push({ table: tableName, id, before: tr.rows.get(id) });
      rawSet(tableName, id, row);
    },
    remove(tableName: string, id: string): void {
      const tr = tableRows(tableName);
      const before = tr.rows.get(id);
      if (!before) return;
      journal()?.entries.push({ table: tableName, id, before });
      rawSet(tableName, id, undefined);
    },
    /** Runs fn; if it throws, every write it made (including awaited ones) is undone. */
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      const j: Journal = { entries: [], parent: als.getStore() };
      try {
        const result = await als.run(j, fn);
        commitInto(j);
        return result;
      } catch (error) {
        rollback(j);
        throw error;
      }
    },
    /** The synchronous form, for bulk messages and Merge (all-or-nothing within one request). */
    atomically<T>(fn: () => T): T {
      const j: Journal = { entries: [], parent: journal() };
      const saved = syncJournal;
      syncJournal = j;
      try {
        const result = fn();
        syncJournal = saved;
        commitInto(j);
        return result;
      } catch (error) {
        syncJournal = saved;
        rollback(j);
        throw error;
      }
    },
    counts(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [name, tr] of data) out[name] = tr.rows.size;
      return out;
    },
    reset(): void {
      emptyTables();
    },
    exportState(): z.infer<typeof stateJson> {
      const tables: Record<string, Row[]> = {};
      for (const [name, tr] of data) if (tr.rows.size > 0) tables[name] = [...tr.rows.values()];
      return { version: 1, rowVersion, tables };
    },
    importState(state: unknown): void {
      const parsed = stateJson.parse(state);
      emptyTables();
      rowVersion = parsed.rowVersion;
      for (const [name, rows] of Object.entries(parsed.tables)) {
        const table = schema.tables.get(name);
        if (!table) continue; // a table dropped from the schema since the state was saved
        for (const row of rows) {
          const id = row[table.primaryIdAttribute];
          if (typeof id === 'string') rawSet(name, id, row);
        }
      }
    },
  };
}
