/**
 * A plan file arrived at `incoming/_plans/<file>` (a drop, or POST /api/plans which puts the body there): record
 * the plan, read and check it whole (`preparePlan`: tables, columns, order), stage each file or sheet to its own
 * blob, record the order and the tables (with their load ids) in one write, and start stage 0. Anything wrong with
 * the plan ends it failed with a message naming the file or sheet, before any load starts; only infrastructure
 * errors are thrown (the trigger retries). A re-delivered blob is the same plan (its id comes from metadata, or
 * path + ETag) and resumes where it was: preparing is claimed with the record's ETag, so two deliveries don't
 * stage at once, and a plan already staged only advances.
 */
import { uuidV5 } from '../ingestion/recordId';
import type { BlobFile } from '../loads/blobSource';
import { fileProblemOf } from '../loads/fileProblem';
import { isoAt } from '../loads/loadContext';
import { addLogFields } from '../observability/logScope';
import {
  columnsOfLookups,
  defaultPlanArchiveLimits,
  PlanError,
  preparePlan,
  type PlanInput,
  type PreparedPlan,
} from '../plans/index';
import { loadIdPattern } from '../security/inputChecks';
import { advancePlan } from './planAdvance';
import type { PlanContext } from './planContext';
import type { PlanStagingSource } from './planStaging';
import { failPlan } from './planEnd';
import { indexPlan } from './planJobs';
import { isPlanTerminal, newPlanRecord, type PlanRecord, type PlanTableEntry } from './planRecord';

export type PlanDropResult = { kind: 'plan'; plan: PlanRecord } | { kind: 'gone' };

/** The plan id of a plan file: set by the HTTP API in metadata, else derived from path + ETag. */
export function planIdFor(file: Pick<BlobFile, 'container' | 'name' | 'etag' | 'metadata'>): string {
  const given = file.metadata.planid;
  if (given && loadIdPattern.test(given)) return given;
  return uuidV5(`${file.container}/${file.name}@${file.etag}`);
}

const workbookType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Zip or workbook, from the name's extension, else the Content-Type. */
export function planFormatOf(file: Pick<BlobFile, 'name' | 'contentType'>): 'zip' | 'xlsx' {
  const name = file.name.toLowerCase();
  if (name.endsWith('.xlsx')) return 'xlsx';
  if (name.endsWith('.zip')) return 'zip';
  const type = (file.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === workbookType) return 'xlsx';
  if (type === 'application/zip' || type === 'application/x-zip-compressed') return 'zip';
  throw new PlanError(
    'NotAZip',
    `plan file '${file.name}' is neither a .zip nor an .xlsx workbook: name it <plan>.zip or <plan>.xlsx`,
  );
}

async function readAll(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of source) pieces.push(piece);
  return Buffer.concat(pieces);
}

/** The lookups of each table deferred to after the last stage (a cycle's, or against the user's order), as columns. */
function crossTableColumns(prepared: PreparedPlan, index: number): string[] {
  const table = prepared.tables[index]!;
  const deferred = prepared.order.deferred.filter((d) => d.table === table.table && d.reason !== 'self');
  return columnsOfLookups(table, deferred);
}

export function planTableEntries(
  planId: string,
  prepared: PreparedPlan,
  staged: { table: string; file: string; blobName: string }[],
): PlanTableEntry[] {
  const stageOf = new Map(prepared.order.stages.flatMap((tables, stage) => tables.map((t) => [t, stage] as const)));
  return prepared.tables.map((t, i) => {
    const blobName = staged.find((s) => s.table === t.table && s.file === t.source.name)?.blobName;
    if (!blobName) throw new PlanError('UnsupportedEntry', `'${t.source.name}' of the plan was not staged`);
    const crossTableBinds = crossTableColumns(prepared, i);
    return {
      table: t.table,
      source: t.source,
      blobName,
      loadId: uuidV5(`${planId}/${t.table}/${t.source.name}`),
      stage: stageOf.get(t.table) ?? 0,
      ...(crossTableBinds.length > 0 ? { crossTableBinds } : {}),
    };
  });
}

/** Reads and checks the plan file, then stages it. PlanError (or a file problem) when the plan is wrong. */
async function prepareAndStage(ctx: PlanContext, plan: PlanRecord, file: BlobFile) {
  const format = planFormatOf(file);
  const read = () => ctx.loads.blobs.read(file);
  let input: PlanInput;
  let source: PlanStagingSource;
  if (format === 'zip') {
    if (file.contentLength > defaultPlanArchiveLimits.maxZipBytes)
      throw new PlanError(
        'TooLarge',
        `plan file '${file.name}' is ${file.contentLength} bytes, over the ${defaultPlanArchiveLimits.maxZipBytes}-byte limit`,
      );
    const bytes = await readAll(read());
    input = { kind: 'zip', bytes };
    source = { kind: 'zip', bytes };
  } else {
    input = { kind: 'xlsx', source: read() };
    source = { kind: 'xlsx', read };
  }
  const catalog = await ctx.catalog();
  const prepared = await preparePlan(input, { catalog, metadata: (table) => ctx.loads.metadata.get(table) });
  const staged = await ctx.stagePlan({ planId: plan.id, container: file.container, source, prepared });
  return { format, prepared, tables: planTableEntries(plan.id, prepared, staged) };
}

/** A problem with the plan itself (not infrastructure): the plan fails with it. */
function planProblemOf(error: unknown, fileName: string): { code: string; message: string } | undefined {
  if (error instanceof PlanError) return { code: error.code, message: error.message };
  const problem = fileProblemOf(error);
  return problem ? { code: problem.code, message: `plan file '${fileName}': ${problem.message}` } : undefined;
}

/** What the blob trigger does with `incoming/_plans/<file>` (and the sweep with a plan not yet staged). */
export async function acceptPlan(ctx: PlanContext, blob: { container: string; name: string }): Promise<PlanDropResult> {
  const file = await ctx.loads.blobs.properties(blob.container, blob.name);
  if (!file) return { kind: 'gone' };
  const planId = planIdFor(file);
  addLogFields({ planId });
  const at = isoAt(ctx.loads.now());
  const { created, record } = await ctx.store.createIfAbsent(
    newPlanRecord(
      {
        id: planId,
        status: 'running',
        source: 'blob',
        container: file.container,
        blobName: file.name,
        blobEtag: file.etag,
        startedAt: at,
      },
      at,
    ),
  );
  if (created) await indexPlan(ctx, record);
  if (isPlanTerminal(record)) return { kind: 'plan', plan: record };
  if (record.tables) return { kind: 'plan', plan: (await advancePlan(ctx, planId)) ?? record };

  const claim = await ctx.store.mutate(planId, (p) => {
    if (isPlanTerminal(p) || p.tables) return undefined;
    const since = p.stagingSince ? Date.parse(p.stagingSince) : undefined;
    if (since !== undefined && ctx.loads.now() - since < ctx.loads.stallMs) return undefined;
    return {
      status: 'running',
      startedAt: p.startedAt ?? at,
      stagingSince: at,
      updatedAt: at,
      blobName: file.name,
      blobEtag: file.etag,
    };
  });
  if (!claim.changed) return { kind: 'plan', plan: claim.record };
  if (record.status === 'queued') await ctx.loads.index.updateJobState(planId, 'running');

  let staged: Awaited<ReturnType<typeof prepareAndStage>>;
  try {
    staged = await prepareAndStage(ctx, claim.record, file);
  } catch (error) {
    const problem = planProblemOf(error, file.name);
    if (problem) return { kind: 'plan', plan: await failPlan(ctx, planId, problem) };
    // Infrastructure: let the trigger's retry prepare it again at once rather than wait for the claim to go stale.
    await ctx.store
      .mutate(planId, (p) => (p.stagingSince === at ? { stagingSince: new Date(0).toISOString() } : undefined))
      .catch(() => undefined);
    throw error;
  }
  await ctx.store.mutate(planId, (p) =>
    p.tables || isPlanTerminal(p)
      ? undefined
      : {
          format: staged.format,
          order: staged.prepared.order,
          tables: staged.tables,
          stage: 0,
          updatedAt: isoAt(ctx.loads.now()),
        },
  );
  ctx.loads.log?.info('Plan staged', {
    planId,
    tables: staged.tables.length,
    stages: staged.prepared.order.stages.length,
  });
  return { kind: 'plan', plan: (await advancePlan(ctx, planId)) ?? (await ctx.store.get(planId)) ?? claim.record };
}
