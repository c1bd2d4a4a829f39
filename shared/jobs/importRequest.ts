/**
 * POST /api/imports bodies: a solution zip (application/zip or octet-stream; options as query parameters),
 * or JSON (one operation, a list, or `{ solution: {container,name}, ...options }` without kind).
 * Also the job as the status endpoint shows it, and blob-drop options (metadata or sidecar).
 */
import { z } from 'zod';
import { idsOf, type Job } from './jobRecord';
import { dataverseStepSchema } from './release/importDecision';

/** x-correlation-id: at most 200 printable ASCII characters (it goes into logs and events). */
export const correlationIdSchema = z
  .string()
  .max(200)
  .regex(/^[\x20-\x7e]*$/, 'printable ASCII');

const stepsSchema = z.array(dataverseStepSchema);
/** The message names of a job's stored steps (none when the stored value is not steps). */
const stepMessages = (steps: string): string[] => {
  const parsed = stepsSchema.safeParse(JSON.parse(steps));
  return parsed.success ? parsed.data.map((s) => s.message) : [];
};

export const importOptionNames = [
  'overwriteUnmanagedCustomizations',
  'publishWorkflows',
  'holdingSolution',
  'stageAndUpgrade',
  'convertToManaged',
  'skipProductUpdateDependencies',
  'mode',
  'force',
  'finishUpgrade',
] as const;

export type ImportBody =
  | { kind: 'zip'; bytes: Uint8Array; options: Record<string, unknown> }
  | { kind: 'json'; message: Record<string, unknown> }
  | { kind: 'invalid'; status: number; reason: string };

/** Query/metadata values are strings: 'true'/'false' (any case) become booleans; anything else stays, for zod to name. */
export function optionsFromStrings(values: Record<string, string | undefined>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const byLowerName = new Map(importOptionNames.map((n) => [n.toLowerCase(), n]));
  for (const [key, value] of Object.entries(values)) {
    const name = byLowerName.get(key.toLowerCase());
    if (!name || value === undefined) continue;
    options[name] = /^(true|1|yes)$/i.test(value) ? true : /^(false|0|no)$/i.test(value) ? false : value;
  }
  if (values.correlationId) options.correlationId = values.correlationId;
  // Deployment settings (connection references, environment variables) as JSON; text that is not JSON stays,
  // so validation names it.
  if (values.settings !== undefined) {
    try {
      options.settings = JSON.parse(values.settings) as unknown;
    } catch {
      options.settings = values.settings;
    }
  }
  return options;
}

export function classifyImportBody(
  contentType: string | undefined,
  bytes: Uint8Array,
  query: Record<string, string | undefined>,
  maxBytes: number,
): ImportBody {
  if (bytes.length === 0)
    return {
      kind: 'invalid',
      status: 400,
      reason: 'The body is empty: send a solution zip, or JSON with a blob reference or a list of operations.',
    };
  if (bytes.length > maxBytes)
    return {
      kind: 'invalid',
      status: 413,
      reason: `The body is ${bytes.length} bytes, over the limit of ${maxBytes}.`,
    };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const looksZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  if (
    type === 'application/zip' ||
    type === 'application/x-zip-compressed' ||
    type === 'application/octet-stream' ||
    (type === '' && looksZip)
  ) {
    return { kind: 'zip', bytes, options: optionsFromStrings(query) };
  }
  if (type === 'application/json' || type === '' || type.endsWith('+json')) {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      return { kind: 'invalid', status: 400, reason: `The body is not valid JSON: ${(error as Error).message}` };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      return { kind: 'invalid', status: 400, reason: '(body): expected a JSON object' };
    const message = { ...optionsFromStrings(query), ...(json as Record<string, unknown>) };
    // `{ solution: {...} }` alone means an import, as a dropped zip does.
    if (!('kind' in message) && !('operations' in message) && 'solution' in message) message.kind = 'ImportSolution';
    return { kind: 'json', message };
  }
  return {
    kind: 'invalid',
    status: 415,
    reason: `Content-Type '${type}' is not accepted: use application/zip, application/octet-stream or application/json.`,
  };
}

export interface JobView {
  id: string;
  kind: Job['kind'];
  state: Job['state'];
  statusCode?: number;
  message?: string;
  [key: string]: unknown;
}

/** The job as GET /api/imports/{id} returns it (the stored request and the outbox entry stay internal). */
export function jobView(job: Job): JobView {
  const {
    request: _request,
    laneSeq: _laneSeq,
    pendingEvent: _pendingEvent,
    releasePlan: _releasePlan,
    environment,
    childIds,
    steps,
    requires,
    ...rest
  } = job;
  return {
    ...rest,
    environment,
    ...(childIds ? { childIds: idsOf(childIds) } : {}),
    // The Dataverse messages the decision sends, in order (what `stepIndex` counts).
    ...(steps ? { steps: stepMessages(steps) } : {}),
    ...(requires ? { requires: idsOf(requires) } : {}),
  };
}

/** Blob names the blob trigger leaves alone: sidecars, and zips the HTTP endpoint uploaded itself. */
export const httpUploadPrefix = '_uploads/';
export function isDroppedSolution(name: string): boolean {
  return name.toLowerCase().endsWith('.zip') && !name.startsWith(httpUploadPrefix);
}
