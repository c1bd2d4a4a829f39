/**
 * What the release and solution functions call with their trigger input: `POST /api/releases` (a zip of
 * solution zips, or JSON naming blobs), `GET /api/releases/{id}`, `GET /api/solutions/{uniqueName}`, and zips or
 * JSON dropped into `solutions/_releases/`. Inputs are checked here so the function files stay binding glue.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors';
import { addLogFields } from '../observability/logScope';
import { readBounded } from '../security/bodyLimit';
import { excerpt, jobIdSchema } from '../security/inputChecks';
import { queryInstalled } from './importPreflight';
import { correlationIdSchema } from './importRequest';
import type { ImportSubmission } from './jobTriggers';
import type { JobRuntime } from './jobRuntime';
import { targetStateOf } from './release/installedSolutions';
import {
  acceptRelease,
  readReleaseZip,
  releaseOptionNames,
  releaseOptionsFromStringsSchema,
  releaseRequestSchema,
  releaseUploadName,
  type ReleaseSubmission,
} from './releaseIntake';
import { releaseView, solutionView, type ReleaseView } from './releaseView';
import type { ReleaseProblem } from './release/releaseProblem';

/** Blobs under this prefix of the solutions container are releases, not single solutions. */
export const releaseDropPrefix = '_releases/';

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

type Parsed = { ok: true; submission: Omit<ReleaseSubmission, 'id' | 'source'> } | { ok: false; reason: string };

/** A release as JSON (POST body or dropped file). */
function parseReleaseJson(text: string, file: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return { ok: false, reason: `${file} is not JSON: ${(error as Error).message}` };
  }
  const parsed = releaseRequestSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `${file}: ${describeIssues(parsed.error)}` };
  const { solutions, ...options } = parsed.data;
  return {
    ok: true,
    submission: { entries: solutions.map((request) => ({ request, file: request.solution.name })), options },
  };
}

/** A release zip: its solution zips are stored under `_uploads/releases/<id>/` (no trigger watches it). */
async function storeReleaseZip(
  runtime: JobRuntime,
  id: string,
  bytes: Uint8Array,
  file: string,
  strings: Record<string, string>,
): Promise<Parsed> {
  const options = releaseOptionsFromStringsSchema.safeParse(strings);
  if (!options.success) return { ok: false, reason: `${file} options: ${describeIssues(options.error)}` };
  const read = readReleaseZip(bytes, file, runtime.context.limits);
  if (!read.ok) return { ok: false, reason: read.problems.map((p) => p.message).join('\n') };
  const entries: ReleaseSubmission['entries'] = [];
  for (const [i, zip] of read.zips.entries()) {
    const name = releaseUploadName(id, i, zip.file);
    await runtime.solutions.upload(name, zip.bytes);
    entries.push({ request: { solution: { container: runtime.names.solutionsContainer, name } }, file: zip.file });
  }
  const o = options.data;
  return {
    ok: true,
    submission: {
      entries,
      options: {
        continueOnError: o.continueOnError ?? false,
        mode: o.mode ?? 'auto',
        force: o.force ?? false,
        finishUpgrade: o.finishUpgrade ?? false,
        ...(o.correlationId ? { correlationId: o.correlationId } : {}),
      },
    },
  };
}

const problemLines = (problems: readonly ReleaseProblem[]) => problems.map((p) => p.message).join('\n');

/** POST /api/releases → { id, statusUrl, childIds }; a release that cannot run is a 400 listing every problem. */
export async function submitRelease(
  runtime: JobRuntime,
  request: ImportSubmission,
): Promise<{ id: string; statusUrl: string; childIds: string[] }> {
  if (request.correlationId !== undefined && !correlationIdSchema.safeParse(request.correlationId).success)
    throw new InvalidRequestError(
      'InvalidReleaseRequest',
      'x-correlation-id: expected at most 200 printable ASCII characters',
    );
  const max = runtime.maxImportBodyBytes;
  const tooLarge = () =>
    new PayloadTooLargeError(
      'InvalidReleaseRequest',
      `The body is over the limit of ${max} bytes (IMPORTS_MAX_BODY_BYTES).`,
    );
  if (request.declaredLength !== undefined && request.declaredLength > max) throw tooLarge();
  const bytes = await readBounded(request.body, max, tooLarge);
  if (bytes.length === 0)
    throw new InvalidRequestError('InvalidReleaseRequest', 'The body is empty: send a zip of solution zips, or JSON.');
  const id = (request.newId ?? runtime.context.newId)();
  addLogFields({ jobId: id });
  const type = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const looksZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  // `code` is the function key, the host's business.
  const { code: _key, ...options } = request.query;
  const query = { ...options, ...(request.correlationId ? { correlationId: request.correlationId } : {}) };
  let parsed: Parsed;
  if (type === 'application/zip' || type === 'application/octet-stream' || (type === '' && looksZip)) {
    parsed = await storeReleaseZip(runtime, id, bytes, 'the release zip', query);
  } else if (type === 'application/json' || type === '' || type.endsWith('+json')) {
    parsed = parseReleaseJson(Buffer.from(bytes).toString('utf8'), 'the release JSON');
    if (parsed.ok && request.correlationId) parsed.submission.options.correlationId ??= request.correlationId;
  } else {
    throw new UnsupportedMediaTypeError(
      'InvalidReleaseRequest',
      `Content-Type '${type}' is not accepted: use application/zip (a zip of solution zips) or application/json.`,
    );
  }
  if (!parsed.ok) throw new InvalidRequestError('InvalidReleaseRequest', parsed.reason);
  const statusUrl = `${request.origin}/api/releases/${id}`;
  const accepted = await acceptRelease(runtime.context, { id, source: 'http', ...parsed.submission });
  if (accepted.state === 'rejected')
    throw new InvalidRequestError('ReleaseRejected', `${problemLines(accepted.problems)}\n(recorded as ${statusUrl})`, {
      details: { id, statusUrl, problems: accepted.problems },
    });
  return { id, statusUrl, childIds: accepted.childIds };
}

function checkId(id: string): void {
  if (!jobIdSchema.safeParse(id).success)
    throw new InvalidRequestError('InvalidJobId', `${excerpt(id)} is not a release id`);
}

/** GET /api/releases/{id} */
export async function getRelease(runtime: JobRuntime, id: string): Promise<ReleaseView> {
  checkId(id);
  const release = await runtime.getJob(id);
  if (!release || release.kind !== 'Release') throw new NotFoundError('ReleaseNotFound', `No release '${id}'.`);
  const children = await runtime.context.store.listBatchChildren(id);
  return releaseView(
    release,
    children.map((c) => c.job),
  );
}

const uniqueNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,64}$/, 'a solution unique name');

/** GET /api/solutions/{uniqueName}: what the target has, a half-done upgrade named. */
export async function getSolution(runtime: JobRuntime, uniqueName: string) {
  if (!uniqueNameSchema.safeParse(uniqueName).success)
    throw new InvalidRequestError('InvalidSolutionName', `${excerpt(uniqueName)} is not a solution unique name`);
  const state = targetStateOf(await queryInstalled(runtime.context, [uniqueName]), uniqueName);
  if (!state.installed && state.upgrade.kind === 'none')
    throw new NotFoundError(
      'SolutionNotInstalled',
      `${uniqueName} is not installed in ${runtime.context.environment}.`,
    );
  return solutionView(state);
}

/**
 * A blob in `solutions/_releases/`: a `.zip` of solution zips (options in blob metadata) or a `.json` naming
 * blobs. The release id comes from the blob's name and ETag, so a redelivered trigger records nothing twice;
 * a release that cannot run is recorded as rejected with every problem (never a retry loop).
 */
export async function receiveDroppedRelease(
  runtime: JobRuntime,
  name: string,
): Promise<{ kind: 'ignored' } | { kind: 'accepted' | 'rejected'; id: string; reason?: string }> {
  const zip = /\.zip$/i.test(name);
  if (!zip && !/\.json$/i.test(name)) return { kind: 'ignored' };
  const blob = await runtime.solutions.readWithProperties(name, runtime.context.limits?.maxZipBytes);
  if (!blob) return { kind: 'ignored' };
  const id = `release-${createHash('sha256').update(`${name}\n${blob.etag}`).digest('hex').slice(0, 32)}`;
  addLogFields({ jobId: id });
  const file = `${runtime.names.solutionsContainer}/${name}`;
  const parsed = zip
    ? await storeReleaseZip(runtime, id, blob.bytes, file, releaseOptionsOf(blob.metadata))
    : parseReleaseJson(Buffer.from(blob.bytes).toString('utf8'), file);
  const accepted = await acceptRelease(
    runtime.context,
    parsed.ok
      ? { id, source: 'blob', ...parsed.submission }
      : { id, source: 'blob', entries: [], options: defaults, invalid: parsed.reason },
  );
  const reason = accepted.state === 'rejected' ? problemLines(accepted.problems) : undefined;
  runtime.context.log?.info(`Dropped release ${accepted.state}`, { blob: name, jobId: id, reason });
  return { kind: accepted.state === 'rejected' ? 'rejected' : 'accepted', id, ...(reason ? { reason } : {}) };
}

const defaults = { continueOnError: false, mode: 'auto', force: false, finishUpgrade: false } as const;

/** The release options among blob metadata (keys in any case: some clients lower-case them); other keys stay out. */
function releaseOptionsOf(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const known = releaseOptionNames.find((n) => n.toLowerCase() === key.toLowerCase());
    if (known) out[known] = value;
  }
  return out;
}
