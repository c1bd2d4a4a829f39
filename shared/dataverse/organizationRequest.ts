/**
 * The requests `executeMultiple` accepts (the Web API counterparts of the SDK's OrganizationRequest
 * kinds) and their pure mapping onto Web API calls.
 */
import { DataverseError, DataverseErrorCodes } from './dataverseError';
import type { HeaderMap } from './httpMessage';

/** A primary id (GUID) or an alternate key: `{ accountnumber: 'A-1' }`, `{ key1: 2, key2: 2 }`. */
export type RecordKey = string | Readonly<Record<string, string | number | boolean>>;

export type Attributes = Readonly<Record<string, unknown>>;

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One Web API call; `path` is relative to the Web API base (`accounts(…)`, `WhoAmI()`). */
export interface WebApiRequest {
  method: HttpMethod;
  path: string;
  headers?: HeaderMap;
  /** JSON-serialisable value, or a string sent as-is. */
  body?: unknown;
  /** Whether sending it twice cannot duplicate data. Defaults to true for GET, false otherwise. */
  retrySafe?: boolean;
  /** Operations Dataverse counts toward the daily entitlement (a bulk message's targets); default 1. */
  operations?: number;
}

interface Common {
  /** Extra headers for this request only (e.g. `Prefer: return=representation`). */
  headers?: HeaderMap;
}

export interface CreateRequest extends Common {
  kind: 'create';
  entitySetName: string;
  attributes: Attributes;
  /**
   * The table's primary id column (`accountid`). When given, the client puts a client-generated id there
   * (unless `id` is set), which makes a re-sent create detectable (duplicate key) and so retry-safe.
   */
  primaryIdAttribute?: string;
  id?: string;
}

export interface UpdateRequest extends Common {
  kind: 'update';
  entitySetName: string;
  key: RecordKey;
  attributes: Attributes;
}

export interface UpsertRequest extends Common {
  kind: 'upsert';
  entitySetName: string;
  key: RecordKey;
  attributes: Attributes;
}

export interface DeleteRequest extends Common {
  kind: 'delete';
  entitySetName: string;
  key: RecordKey;
}

export interface BoundTo {
  entitySetName: string;
  /** Absent: bound to the entity set (collection). */
  key?: RecordKey;
}

export interface ActionRequest extends Common {
  kind: 'action';
  /** Unqualified name (`WinOpportunity`); bound actions get the `Microsoft.Dynamics.CRM.` prefix. */
  name: string;
  boundTo?: BoundTo;
  parameters?: Attributes;
  /** Only actions that can safely run twice are ever retried after a transient failure. */
  idempotent?: boolean;
}

export interface FunctionRequest extends Common {
  kind: 'function';
  name: string;
  boundTo?: BoundTo;
  parameters?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Any other Web API call (queries, associations). */
export interface RawWebApiRequest {
  kind: 'webApi';
  request: WebApiRequest;
}

/** A nested ExecuteMultiple: not executed, a fault for that item (no recursion, as in the SDK). */
export interface ExecuteMultipleRequest {
  kind: 'executeMultiple';
  requests: OrganizationRequest[];
  settings?: ExecuteMultipleSettings;
}

export interface ExecuteMultipleSettings {
  continueOnError: boolean;
  returnResponses: boolean;
}

export type OrganizationRequest =
  | CreateRequest
  | UpdateRequest
  | UpsertRequest
  | DeleteRequest
  | ActionRequest
  | FunctionRequest
  | RawWebApiRequest
  | ExecuteMultipleRequest;

/**
 * Characters Microsoft documents as breaking GET and PATCH by an alternate key whose value holds them
 * ("/, #, <, >, *, %, &, :, \\, ?, +", Define alternate keys using Power Apps). Percent-encoding does not help:
 * the server decodes the path before it checks it. Such a key has no URL form; see docs/design.md "Key literals".
 */
export const unaddressableKeyCharacters = /[/#<>*%&:\\?+]/;

/** The first key column whose string value holds a character a key URL can't carry, and that character. */
export function unaddressableKeyPart(key: RecordKey): { column: string; character: string } | undefined {
  if (typeof key === 'string') return undefined;
  for (const [column, value] of Object.entries(key)) {
    if (typeof value !== 'string') continue;
    const match = unaddressableKeyCharacters.exec(value);
    if (match) return { column, character: match[0] };
  }
  return undefined;
}

/** The OData literal itself: strings quoted with ' doubled (OData ABNF SQUOTE-in-string), numbers and booleans bare. */
export function odataLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

/** An OData literal placed in a URL (a path segment or a query value): percent-encoded once, decoded once by the server. */
export function formatODataLiteral(value: string | number | boolean | null): string {
  return typeof value === 'string' ? encodeURIComponent(odataLiteral(value)) : odataLiteral(value);
}

/**
 * Where a key is written: `url`, a request URL's path, percent-encoded; `body`, a record reference inside a JSON
 * body (`@odata.id`, `@odata.bind`), written as Microsoft's examples show it (`emailaddress1='abc@example.com'`).
 * The body form never holds a `%` (keys with one have no form at all), so it reads the same whether or not the
 * server percent-decodes references.
 */
export type KeyForm = 'url' | 'body';

/** `(00000000-…)` or `(accountnumber='A-1')` / `(key1=2,key2=2)`; throws for a key no URL can carry. */
export function formatKey(key: RecordKey, form: KeyForm = 'url'): string {
  if (typeof key === 'string') return `(${key})`;
  const parts = Object.entries(key);
  if (parts.length === 0) throw new TypeError('An alternate key needs at least one column');
  const bad = unaddressableKeyPart(key);
  if (bad)
    throw new DataverseError({
      code: DataverseErrorCodes.unaddressableKey,
      message: `The value of key column '${bad.column}' contains '${bad.character}', which Dataverse doesn't accept in a key in a URL (/ # < > * % & : \\ ? +); address the record by its id`,
    });
  const literal = form === 'url' ? formatODataLiteral : odataLiteral;
  return `(${parts.map(([name, value]) => `${name}=${literal(value)}`).join(',')})`;
}

/** `contacts(emailaddress1='a%40b')`: a record in a request URL's path. */
export function entityPath(entitySetName: string, key: RecordKey): string {
  return `${entitySetName}${formatKey(key, 'url')}`;
}

/** `contacts(emailaddress1='a@b')`: a record referenced from a body (`@odata.id`, and `@odata.bind` with a leading `/`). */
export function entityReference(entitySetName: string, key: RecordKey): string {
  return `${entitySetName}${formatKey(key, 'body')}`;
}

function boundPrefix(boundTo: BoundTo | undefined): string {
  if (!boundTo) return '';
  const target = boundTo.key === undefined ? boundTo.entitySetName : entityPath(boundTo.entitySetName, boundTo.key);
  return `${target}/Microsoft.Dynamics.CRM.`;
}

function functionPath(request: FunctionRequest): string {
  const entries = Object.entries(request.parameters ?? {});
  const call = `${boundPrefix(request.boundTo)}${request.name}`;
  if (entries.length === 0) return `${call}()`;
  // Parameter aliases keep values out of the path segment, as the Web API docs recommend.
  const names = entries.map(([name]) => `${name}=@${name}`).join(',');
  const values = entries.map(([name, value]) => `@${name}=${formatODataLiteral(value)}`).join('&');
  return `${call}(${names})?${values}`;
}

/** The create with its client-generated id filled in (when the primary id column is known). */
export function withClientId(request: CreateRequest, newId: () => string): CreateRequest {
  if (!request.primaryIdAttribute || request.id) return request;
  const existing = request.attributes[request.primaryIdAttribute];
  return { ...request, id: typeof existing === 'string' ? existing : newId() };
}

/** Maps a request to its Web API call. Nested executeMultiple has no Web API form. */
export function toWebApiRequest(request: Exclude<OrganizationRequest, ExecuteMultipleRequest>): WebApiRequest {
  const headers = { ...(request.kind === 'webApi' ? request.request.headers : request.headers) };
  switch (request.kind) {
    case 'create': {
      // The attributes are copied only when the id must be added (rows converted with their id already hold it).
      const body =
        request.id && request.primaryIdAttribute && request.attributes[request.primaryIdAttribute] !== request.id
          ? { ...request.attributes, [request.primaryIdAttribute]: request.id }
          : request.attributes;
      return {
        method: 'POST',
        path: request.entitySetName,
        headers,
        body,
        retrySafe: !!(request.id && request.primaryIdAttribute),
      };
    }
    case 'update':
      // If-Match: * turns the PATCH into update-only (no accidental create).
      return {
        method: 'PATCH',
        path: entityPath(request.entitySetName, request.key),
        headers: { 'If-Match': '*', ...headers },
        body: request.attributes,
        retrySafe: true,
      };
    case 'upsert':
      return {
        method: 'PATCH',
        path: entityPath(request.entitySetName, request.key),
        headers,
        body: request.attributes,
        retrySafe: true,
      };
    case 'delete':
      return { method: 'DELETE', path: entityPath(request.entitySetName, request.key), headers, retrySafe: true };
    case 'action':
      return {
        method: 'POST',
        path: `${boundPrefix(request.boundTo)}${request.name}`,
        headers,
        body: request.parameters ?? {},
        retrySafe: request.idempotent === true,
      };
    case 'function':
      return { method: 'GET', path: functionPath(request), headers, retrySafe: true };
    case 'webApi':
      return { ...request.request, headers };
  }
}

export function isRetrySafe(request: WebApiRequest): boolean {
  return request.retrySafe ?? request.method === 'GET';
}

/** The GUID at the end of an `OData-EntityId` / `Location` URL, when the URL uses the primary id. */
export function idFromEntityUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const match = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)\s*$/i.exec(uri);
  return match?.[1]?.toLowerCase();
}
