/**
 * A release (issue 18, point 3): several solution zips imported in dependency order through the lane. Accepting
 * one reads every zip and settings file, checks them (bad packages, settings, duplicates and cycles before any
 * Dataverse call), asks the target once what it has, plans the order and each decision, and records the release
 * as a parent job (kind Release) with one queued ImportSolution child per solution, in plan order. The lane then
 * runs them like any other job; each child decides again when its turn comes (the target has changed by then).
 */
import { unzipSync } from 'fflate';
import { z } from 'zod';
import {
  blobReferenceSchema,
  deploymentSettingsSchema,
  type BlobReference,
  type DeploymentSettings,
} from './asyncOperationMessage';
import { BlobNotFoundError } from './solutionBlobs';
import { pendingEventFields, publishJobEvent } from './jobCompletion';
import { recordJob } from './jobAcceptance';
import { idsOf, laneSeq, type Job } from './jobRecord';
import { isoAt, type JobContext } from './jobContext';
import { queryInstalled, readImportSettings, settingsProblems } from './importPreflight';
import { importModes } from './release/importDecision';
import { namesToLookUp, orderRelease } from './release/releaseOrder';
import { planRelease, type ReleaseOptions } from './release/releasePlan';
import { problem, type ReleaseProblem } from './release/releaseProblem';
import { readSolutionContents, type SolutionContents } from './release/solutionContents';
import { checkSolutionZip, SolutionPackageError } from './solutionPackage';

/** At most this many solutions in one release (as in an operation list). */
export const maxReleaseSolutions = 50;

export interface ReleaseEntryRequest {
  solution: BlobReference;
  settings?: DeploymentSettings;
  settingsFile?: BlobReference;
}

/** A solution of a release: its blob alone, or with its deployment settings. */
const releaseEntrySchema = z
  .union([
    blobReferenceSchema.transform((solution) => ({ solution })),
    z.strictObject({
      solution: blobReferenceSchema,
      settings: deploymentSettingsSchema.optional(),
      settingsFile: blobReferenceSchema.optional(),
    }),
  ])
  .transform((entry): ReleaseEntryRequest => entry);

/** `POST /api/releases` JSON and `solutions/_releases/*.json`: the solutions as blobs, with the release's options. */
export const releaseRequestSchema = z.strictObject({
  solutions: z.array(releaseEntrySchema).min(1).max(maxReleaseSolutions),
  continueOnError: z.boolean().default(false),
  mode: z.enum(importModes).default('auto'),
  force: z.boolean().default(false),
  finishUpgrade: z.boolean().default(false),
  correlationId: z.string().max(200).optional(),
});

export const releaseOptionNames = ['continueOnError', 'mode', 'force', 'finishUpgrade', 'correlationId'] as const;

const stringFlag = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();
/** Options of a release zip (query parameters or blob metadata: strings). */
export const releaseOptionsFromStringsSchema = z.strictObject({
  continueOnError: stringFlag,
  mode: z.enum(importModes).optional(),
  force: stringFlag,
  finishUpgrade: stringFlag,
  correlationId: z.string().max(200).optional(),
});

export interface ReleaseSubmission {
  id: string;
  source: Job['source'];
  /** Each solution's blob (and settings), with the name problems and the release view use for it. */
  entries: { request: ReleaseEntryRequest; file: string }[];
  /** Why the request itself cannot be read (the release is recorded as rejected with it). */
  invalid?: string;
  options: ReleaseOptions & { correlationId?: string };
}

export type ReleaseAcceptance =
  | { state: 'running' | 'rejected'; created: boolean; problems: ReleaseProblem[]; childIds: string[] }
  | { state: Job['state']; created: false; problems: []; childIds: string[] };

/**
 * The solution zips of a release zip (a zip of zips), each `*.zip` entry at any depth; the outer zip is checked
 * for size, entries and expansion first. Returns the entries or the problem naming the file.
 */
export function readReleaseZip(
  zip: Uint8Array,
  file: string,
  limits?: Parameters<typeof checkSolutionZip>[1],
): { ok: true; zips: { file: string; bytes: Uint8Array }[] } | { ok: false; problems: ReleaseProblem[] } {
  let files: Record<string, Uint8Array>;
  try {
    checkSolutionZip(zip, limits);
    files = unzipSync(zip, { filter: (f) => /\.zip$/i.test(f.name) && !f.name.startsWith('__MACOSX/') });
  } catch (error) {
    const reason = error instanceof SolutionPackageError ? error.message : `it cannot be read: ${String(error)}`;
    return { ok: false, problems: [problem('SolutionZipUnreadable', `${file}: ${reason}`, file)] };
  }
  const zips = Object.entries(files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, bytes]) => ({ file: name, bytes }));
  if (zips.length === 0)
    return {
      ok: false,
      problems: [problem('NoSolutionXml', `${file} holds no solution zip (*.zip entries): it is not a release.`, file)],
    };
  if (zips.length > maxReleaseSolutions)
    return {
      ok: false,
      problems: [
        problem('SolutionZipUnreadable', `${file} holds ${zips.length} solutions, over ${maxReleaseSolutions}.`, file),
      ],
    };
  return { ok: true, zips };
}

interface ReadEntry {
  request: ReleaseEntryRequest;
  file: string;
  contents: SolutionContents;
  settings?: DeploymentSettings;
  settingsFile: string;
}

/** Reads every zip and settings file; collects every problem (none of this calls Dataverse). */
async function readEntries(
  ctx: JobContext,
  entries: ReleaseSubmission['entries'],
): Promise<{ read: ReadEntry[]; problems: ReleaseProblem[] }> {
  const read: ReadEntry[] = [];
  const problems: ReleaseProblem[] = [];
  for (const { request, file } of entries) {
    let bytes: Uint8Array;
    try {
      bytes = await ctx.blobs.read(request.solution, { maxBytes: ctx.limits?.maxZipBytes });
    } catch (error) {
      if (!(error instanceof BlobNotFoundError || error instanceof SolutionPackageError)) throw error;
      problems.push(problem('SolutionZipUnreadable', `${file}: ${error.message}`, file));
      continue;
    }
    const contents = readSolutionContents(bytes, file, ctx.limits);
    const settings = await readImportSettings(ctx, request);
    if (!settings.ok) problems.push(problem('SettingsBadShape', `${file}: ${settings.message}`, file));
    if (!contents.ok) problems.push(...contents.problems);
    else
      read.push({
        request,
        file,
        contents: contents.value,
        ...(settings.ok && settings.settings ? { settings: settings.settings } : {}),
        settingsFile: settings.ok ? `${file}: ${settings.file}` : file,
      });
  }
  return { read, problems };
}

function childRequest(entry: ReadEntry, options: ReleaseSubmission['options']): Record<string, unknown> {
  return {
    kind: 'ImportSolution',
    solution: entry.request.solution,
    ...(entry.request.settings ? { settings: entry.request.settings } : {}),
    ...(entry.request.settingsFile ? { settingsFile: entry.request.settingsFile } : {}),
    mode: options.mode,
    force: options.force,
    finishUpgrade: options.finishUpgrade,
    overwriteUnmanagedCustomizations: false,
    publishWorkflows: true,
    holdingSolution: false,
    stageAndUpgrade: false,
    convertToManaged: false,
    skipProductUpdateDependencies: false,
  };
}

/** Checks, plans and records a release. Idempotent by id: a redelivered drop records nothing twice. */
export async function acceptRelease(ctx: JobContext, submission: ReleaseSubmission): Promise<ReleaseAcceptance> {
  const existing = await ctx.store.get(submission.id);
  if (existing) {
    const childIds = idsOf(existing.job.childIds);
    return { state: existing.job.state, created: false, problems: [], childIds };
  }
  const nowMs = ctx.now();
  const createdAt = isoAt(nowMs);
  const base = {
    environment: ctx.environment,
    laneSeq: laneSeq(nowMs),
    source: submission.source,
    correlationId: submission.options.correlationId ?? submission.id,
    createdAt,
  };
  const { read, problems } = await readEntries(ctx, submission.entries);
  if (submission.invalid) problems.push(problem('BadReleaseRequest', submission.invalid));
  // Duplicates, cycles, unknown settings items and badly typed values need no target: found before any query.
  const shape = orderRelease(read, new Map());
  if (!shape.ok) problems.push(...shape.problems.filter((p) => p.code !== 'MissingDependency'));
  for (const entry of read)
    problems.push(...settingsProblems(entry.settings, entry.contents, entry.settingsFile, true));
  let plan: ReturnType<typeof planRelease> | undefined;
  if (problems.length === 0) {
    const installed = await queryInstalled(ctx, namesToLookUp(read));
    // Required variables without a default need a value from the settings on a first install only.
    for (const entry of read.filter((e) => !installed.has(e.contents.uniqueName.toLowerCase())))
      problems.push(...settingsProblems(entry.settings, entry.contents, entry.settingsFile, false));
    plan = planRelease(read, installed, submission.options);
    if (!plan.ok) problems.push(...plan.problems);
  }
  if (problems.length > 0 || !plan?.ok) {
    const rejected: Job = {
      ...base,
      id: submission.id,
      kind: 'Release',
      state: 'rejected',
      message: `Rejected: ${problems.map((p) => p.message).join('\n')}`,
      releasePlan: JSON.stringify(read.map((e) => planEntry(e))),
      completedAt: createdAt,
    };
    const job: Job = { ...rejected, ...pendingEventFields(ctx, rejected) };
    const created = await recordJob(ctx, job);
    if (created) await publishJobEvent(ctx, job);
    return { state: 'rejected', created, problems, childIds: [] };
  }
  const byFile = new Map(read.map((e) => [e.file, e]));
  const childIds = plan.value.map((_, i) => `${submission.id}.${i + 1}`);
  const created = await recordJob(ctx, {
    ...base,
    id: submission.id,
    kind: 'Release',
    state: 'running',
    childIds: JSON.stringify(childIds),
    continueOnError: submission.options.continueOnError,
    releasePlan: JSON.stringify(plan.value.map((p) => planEntry(byFile.get(p.file)!))),
    startedAt: createdAt,
  });
  for (const [i, planned] of plan.value.entries()) {
    const entry = byFile.get(planned.file)!;
    await recordJob(ctx, {
      ...base,
      id: childIds[i]!,
      kind: planned.decision.steps.some((s) => s.message === 'StageAndUpgradeAsync')
        ? 'StageAndUpgrade'
        : 'ImportSolution',
      state: 'queued',
      laneSeq: laneSeq(nowMs, i),
      request: JSON.stringify(childRequest(entry, submission.options)),
      solutionName: planned.uniqueName,
      solutionVersion: planned.versionText,
      decision: planned.decision.action,
      decisionReason: planned.decision.reason,
      requires: JSON.stringify(planned.requires.map((r) => childIds[r]!)),
      batchId: submission.id,
      batchIndex: i,
      inRelease: true,
    });
  }
  ctx.log?.info('Release accepted', {
    jobId: submission.id,
    solutions: plan.value.map((p) => `${p.uniqueName} ${p.versionText} ${p.decision.action}`),
  });
  return { state: 'running', created, problems: [], childIds };
}

const planEntry = (e: ReadEntry) => ({
  file: e.file,
  uniqueName: e.contents.uniqueName,
  versionText: e.contents.versionText,
  managed: e.contents.managed,
});

/** Blob references of a release's zips once stored (zip-of-zips uploads land under `_uploads/`, which no trigger watches). */
export const releaseUploadName = (releaseId: string, index: number, file: string): string =>
  `_uploads/releases/${releaseId}/${String(index + 1).padStart(2, '0')}-${file.replace(/^.*\//, '')}`;
