/** What every record handler needs: the schema, the rows, the URLs, and who is calling. */
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest } from '../types';
import { guidPattern } from './entityReference';
import { faults } from './faults';
import { createFileStore, type FileStore } from './files';
import { stableGuid, type Schema } from './schema';
import type { RecordStore } from './store';

export interface RecordContext {
  schema: Schema;
  store: RecordStore;
  /** File column data and upload/download sessions (not part of exported state). */
  files: FileStore;
  /** `<org>/api/data/v9.2/` */
  webApiBase: string;
  organizationId: string;
  businessUnitId: string;
  now(): Date;
  newId(): string;
  /** Told of every create attempted (the id it carries), before the duplicate-key check: the write log. */
  onCreateAttempt?(table: string, id: string): void;
}

export function createContext(
  schema: Schema,
  store: RecordStore,
  baseUrl: string,
  onCreateAttempt?: (table: string, id: string) => void,
): RecordContext {
  const org = baseUrl.replace(/\/+$/, '');
  return {
    ...(onCreateAttempt ? { onCreateAttempt } : {}),
    schema,
    store,
    files: createFileStore(),
    webApiBase: `${org}/api/data/v9.2/`,
    organizationId: stableGuid(`organization:${org}`),
    businessUnitId: stableGuid(`businessunit:${org}`),
    now: () => new Date(),
    newId: () => randomUUID(),
  };
}

/** The systemuserid the emulator gives a caller identity (token subject or Entra object id), stable across runs. */
const userIds = new Map<string, string>();
export function userIdFor(identity: string): string {
  let id = userIds.get(identity);
  if (id === undefined) {
    id = stableGuid(`systemuser:${identity.toLowerCase()}`);
    if (userIds.size > 10_000) userIds.clear(); // bounded: identities are few in practice
    userIds.set(identity, id);
  }
  return id;
}

export interface Caller {
  /** The user the operation runs as (impersonated user when CallerObjectId / MSCRMCallerID is sent). */
  userId: string;
  /** The real caller when impersonating (createdonbehalfby). */
  onBehalfOf: string | undefined;
}

export function callerOf(req: EmulatorRequest): Caller {
  const real = userIdFor(req.callerId);
  const objectId = req.headers['callerobjectid'];
  const systemUserId = req.headers['mscrmcallerid'];
  if (objectId) {
    if (!guidPattern.test(objectId))
      throw faults.invalidArgument(`The CallerObjectId header value '${objectId}' is not a valid Guid.`);
    return { userId: userIdFor(objectId), onBehalfOf: real };
  }
  if (systemUserId) {
    if (!guidPattern.test(systemUserId))
      throw faults.invalidArgument(`The MSCRMCallerID header value '${systemUserId}' is not a valid Guid.`);
    return { userId: systemUserId.toLowerCase(), onBehalfOf: real };
  }
  return { userId: real, onBehalfOf: undefined };
}

export function parseJsonBody(body: string, entitySetName: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw faults.invalidJson(entitySetName);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw faults.invalidJson(entitySetName);
  return value as Record<string, unknown>;
}
