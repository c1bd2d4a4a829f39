/**
 * How an EmulatorResponse goes on the wire: header names as Dataverse spells them, in the order the
 * fixtures show, and JSON bodies with the OData content type.
 */
import type { EmulatorResponse } from './types';

export const JSON_CONTENT_TYPE = 'application/json; odata.metadata=minimal';
/** Dataverse streams query results: GET 200 answers for entity sets carry odata.streaming=true (fixture batch-changeset.response.http), function results such as WhoAmI do not (whoami.response.http). */
export const JSON_STREAMING_CONTENT_TYPE = 'application/json; odata.metadata=minimal; odata.streaming=true';

const CANONICAL: Record<string, string> = {
  'content-type': 'Content-Type',
  'odata-version': 'OData-Version',
  'odata-entityid': 'OData-EntityId',
  location: 'Location',
  etag: 'ETag',
  'preference-applied': 'Preference-Applied',
  req_id: 'REQ_ID',
  'retry-after': 'Retry-After',
  'www-authenticate': 'WWW-Authenticate',
};

export function canonicalHeaderName(name: string): string {
  return CANONICAL[name.toLowerCase()] ?? name;
}

export interface WireResponse {
  status: number;
  headers: Array<[string, string]>;
  /** Bytes for file and image downloads (`{column}/$value`). */
  body: string | Buffer;
}

export interface WireOptions {
  method: string;
  requestId: string;
  /** Inside `$batch`, created and referenced records also get a Location header. */
  inBatch: boolean;
}

function isFunctionResult(body: unknown): boolean {
  const context = (body as { '@odata.context'?: unknown } | null | undefined)?.['@odata.context'];
  return typeof context === 'string' && context.includes('#Microsoft.Dynamics.CRM.');
}

export function serializeBody(res: EmulatorResponse): string | Buffer {
  if (res.body === undefined || res.body === null) return '';
  if (Buffer.isBuffer(res.body)) return res.body;
  return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
}

/**
 * Header order: errors `REQ_ID, Content-Type, OData-Version`; bodies `Content-Type, ..., OData-Version`;
 * no body `OData-Version, Location, OData-EntityId, ...` (batch-*.response.http, upsert-altkey-repr-*.response.http).
 */
export function toWire(res: EmulatorResponse, opts: WireOptions): WireResponse {
  const body = serializeBody(res);
  const given = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(res.headers ?? {}))
    given.set(name.toLowerCase(), [canonicalHeaderName(name), value]);
  const take = (lower: string): [string, string] | undefined => {
    const h = given.get(lower);
    given.delete(lower);
    return h;
  };
  const contentType = take('content-type') ?? [
    'Content-Type',
    opts.method === 'GET' && res.status === 200 && !isFunctionResult(res.body)
      ? JSON_STREAMING_CONTENT_TYPE
      : JSON_CONTENT_TYPE,
  ];
  take('odata-version');
  const odataVersion: [string, string] = ['OData-Version', '4.0'];
  const out: Array<[string, string]> = [];
  if (res.status >= 400) {
    out.push(take('req_id') ?? ['REQ_ID', opts.requestId]);
    if (body) out.push(contentType);
    out.push(odataVersion, ...given.values());
  } else if (body) {
    out.push(contentType, ...given.values(), odataVersion);
  } else {
    const entityId = take('odata-entityid');
    const location = take('location') ?? (opts.inBatch && entityId ? ['Location', entityId[1]] : undefined);
    out.push(odataVersion);
    if (location) out.push(location);
    if (entityId) out.push(entityId);
    out.push(...given.values());
  }
  return { status: res.status, headers: out, body };
}
