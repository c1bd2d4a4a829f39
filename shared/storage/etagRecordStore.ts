/**
 * One record per partition of a Table (a load, a plan), changed only by ETag-guarded read-modify-write: whoever
 * reads, decides and writes on a stale ETag reads again, so two instances see each other's claims. The record's
 * codec (entity ↔ record) belongs to its owner; this is the read, create and mutate they share.
 */
import type { TableClient } from '@azure/data-tables';
import { isRestErrorWithStatus } from '../errors';

export interface EtagRecordStoreOptions<R extends { id: string }, P> {
  table: TableClient;
  /** The record's RowKey in its partition ('load', 'plan'). */
  rowKey: string;
  /** A patch, or a whole record when it is created. */
  toEntity(patch: P | R): Record<string, unknown>;
  fromEntity(entity: Record<string, unknown>): R;
  /** The error thrown when the record is missing where it must exist, or keeps changing ('Load …', 'Plan …'). */
  fail(message: string): Error;
  /** What the record is, in messages: 'Load', 'Plan'. */
  what: string;
}

export interface EtagRecordStore<R extends { id: string }, P> {
  read: (id: string) => Promise<{ record: R; etag: string } | undefined>;
  get: (id: string) => Promise<R | undefined>;
  /** Inserts the record unless one exists; returns the stored one either way. */
  createIfAbsent: (record: R) => Promise<{ created: boolean; record: R }>;
  /** Read-modify-write with the ETag, retried on conflict; `change` returns undefined to leave the record alone. */
  mutate: (id: string, change: (record: R) => P | undefined) => Promise<{ record: R; changed: boolean }>;
}

export function createEtagRecordStore<R extends { id: string }, P>(
  o: EtagRecordStoreOptions<R, P>,
): EtagRecordStore<R, P> {
  async function read(id: string): Promise<{ record: R; etag: string } | undefined> {
    try {
      const entity = await o.table.getEntity<Record<string, unknown>>(id, o.rowKey);
      return { record: o.fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isRestErrorWithStatus(error, 404)) return undefined;
      throw error;
    }
  }
  return {
    read,
    async get(id) {
      return (await read(id))?.record;
    },
    async createIfAbsent(record) {
      const { id } = record;
      try {
        await o.table.createEntity({ partitionKey: id, rowKey: o.rowKey, ...o.toEntity(record) });
        return { created: true, record };
      } catch (error) {
        if (!isRestErrorWithStatus(error, 409)) throw error;
        const current = await read(id);
        if (!current) throw o.fail(`${o.what} ${id} exists and vanished while being read`);
        return { created: false, record: current.record };
      }
    },
    async mutate(id, change) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const current = await read(id);
        if (!current) throw o.fail(`${o.what} ${id} does not exist`);
        const patch = change(current.record);
        if (!patch) return { record: current.record, changed: false };
        try {
          await o.table.updateEntity({ partitionKey: id, rowKey: o.rowKey, ...o.toEntity(patch) }, 'Merge', {
            etag: current.etag,
          });
          return { record: { ...current.record, ...patch }, changed: true };
        } catch (error) {
          if (!isRestErrorWithStatus(error, 412)) throw error;
        }
      }
      throw o.fail(`${o.what} ${id} kept changing under concurrent updates`);
    },
  };
}
