/**
 * The HTTP face of plans: `POST /api/plans` puts the body (a zip or an .xlsx workbook) where a drop would go
 * (`incoming/_plans/<id>.<ext>`, the plan id as blob metadata) after recording the plan `queued`, so an upload and
 * a drop are one path; `GET /api/plans/{id}` shows the plan: status, the order chosen and why, and one entry per
 * table with its load's own view (counts, status, failed rows, retry), with the counts summed over its tables.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors';
import { formatBytes } from '../ingestion/ingestionError';
import { loadView, type LoadView } from '../loads/loadApi';
import { isoAt, PLANS_FOLDER } from '../loads/loadContext';
import { addLogFields } from '../observability/logScope';
import { defaultPlanArchiveLimits, type PlanOrder } from '../plans/index';
import { limitBytes, type RequestBody } from '../security/bodyLimit';
import { excerpt, loadIdPattern } from '../security/inputChecks';
import type { PlanContext } from './planContext';
import { indexPlan } from './planJobs';
import { newPlanRecord, planStatusUrlOf, type PlanRecord, type PlanStatus } from './planRecord';

const workbookType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const formatOfContentType: Record<string, 'zip' | 'xlsx'> = {
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  [workbookType]: 'xlsx',
};
const contentTypeOfFormat = { zip: 'application/zip', xlsx: workbookType } as const;

const submitQuerySchema = z.strictObject({ format: z.enum(['zip', 'xlsx']).optional() });

export interface SubmitPlanRequest {
  query: Record<string, string>;
  contentType?: string;
  /** The zip or workbook, whole or as it arrives; it streams into the blob. */
  body: RequestBody;
  declaredLength?: number;
}

function formatOf(request: SubmitPlanRequest): 'zip' | 'xlsx' {
  const query = submitQuerySchema.safeParse(request.query);
  if (!query.success)
    throw new InvalidRequestError(
      'InvalidQuery',
      query.error.issues
        .map((i) =>
          i.code === 'unrecognized_keys'
            ? `unknown query parameter(s) ${i.keys.join(', ')} (known: format)`
            : `${i.path.join('.')}: ${i.message}`,
        )
        .join('; '),
    );
  const mediaType = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = query.data.format ?? formatOfContentType[mediaType];
  if (!format)
    throw new UnsupportedMediaTypeError(
      'UnsupportedMediaType',
      `Content-Type '${mediaType || '(none)'}' is not a plan: send a zip (application/zip) or an .xlsx workbook (${workbookType}), or add ?format=zip|xlsx`,
    );
  return format;
}

export async function submitPlan(
  ctx: PlanContext,
  request: SubmitPlanRequest,
): Promise<{ id: string; statusUrl: string }> {
  const format = formatOf(request);
  const max =
    format === 'zip' ? Math.min(ctx.loads.maxFileBytes, defaultPlanArchiveLimits.maxZipBytes) : ctx.loads.maxFileBytes;
  const tooLarge = (bytes: number) =>
    new PayloadTooLargeError(
      'FileTooLarge',
      `the plan is ${formatBytes(bytes)} or more, over the ${formatBytes(max)} limit`,
      {
        details: { maxBytes: max },
      },
    );
  if (request.declaredLength !== undefined && request.declaredLength > max) throw tooLarge(request.declaredLength);
  const id = randomUUID();
  addLogFields({ planId: id });
  const blobName = `${PLANS_FOLDER}/${id}.${format}`;
  const { bytes } = await ctx.loads.blobs.uploadStream(
    ctx.loads.container,
    blobName,
    limitBytes(request.body, max, tooLarge),
    {
      contentType: contentTypeOfFormat[format],
      metadata: { planid: id },
      beforeCommit: async (received) => {
        if (received === 0)
          throw new InvalidRequestError('EmptyFile', 'the body is empty: send the plan (zip or workbook) as the body');
        const plan = newPlanRecord(
          { id, status: 'queued', source: 'http', container: ctx.loads.container, blobName, format },
          isoAt(ctx.loads.now()),
        );
        await ctx.store.createIfAbsent(plan);
        await indexPlan(ctx, plan);
      },
    },
  );
  ctx.loads.log?.info('Plan accepted', { planId: id, bytes, format });
  return { id, statusUrl: planStatusUrlOf(id) };
}

export interface PlanTableView {
  table: string;
  /** The zip entry or sheet the table's rows come from. */
  file: string;
  kind: 'file' | 'sheet';
  stage: number;
  loadId: string;
  /** Lookup columns bound after the last stage (a cycle's deferred lookup). */
  crossTableBinds?: string[];
  /** The table's load, once its stage started (GET /api/loads/{id} has its progress). */
  load?: LoadView;
  statusUrl: string;
}

export interface PlanView {
  id: string;
  status: PlanStatus;
  file: string;
  format?: 'zip' | 'xlsx';
  message?: string;
  errorCode?: string;
  /** The order chosen and why: stages (tables of one stage load side by side), reasons, lookups bound later. */
  order?: PlanOrder;
  /** The last stage started. */
  stage?: number;
  tables: PlanTableView[];
  /** Summed over the plan's loads. */
  counts: { total: number; succeeded: number; failed: number; notProcessed: number; processed: number };
  timings: { createdAt: string; startedAt?: string; finishedAt?: string; updatedAt: string };
  links: { self: string; source?: string };
}

export async function requirePlan(ctx: Pick<PlanContext, 'store'>, id: string): Promise<PlanRecord> {
  if (!loadIdPattern.test(id))
    throw new InvalidRequestError('InvalidPlanId', `${excerpt(id)} is not a plan id (letters, digits and hyphens)`);
  const plan = await ctx.store.get(id);
  if (!plan) throw new NotFoundError('PlanNotFound', `no plan with id '${id}'`);
  return plan;
}

export async function getPlan(ctx: PlanContext, id: string): Promise<PlanView> {
  const plan = await requirePlan(ctx, id);
  const tables = plan.tables ?? [];
  const loads = await Promise.all(tables.map((t) => ctx.loads.store.get(t.loadId)));
  const counts = { total: 0, succeeded: 0, failed: 0, notProcessed: 0, processed: 0 };
  const tableViews = tables.map((t, i): PlanTableView => {
    const record = loads[i];
    const load = record ? loadView(ctx.loads, record) : undefined;
    if (load) {
      counts.total += load.counts.total ?? 0;
      counts.succeeded += load.counts.succeeded;
      counts.failed += load.counts.failed;
      counts.notProcessed += load.counts.notProcessed;
      counts.processed += load.counts.processed;
    }
    return {
      table: t.table,
      file: t.source.name,
      kind: t.source.kind,
      stage: t.stage,
      loadId: t.loadId,
      ...(t.crossTableBinds ? { crossTableBinds: t.crossTableBinds } : {}),
      ...(load ? { load } : {}),
      statusUrl: `/api/loads/${encodeURIComponent(t.loadId)}`,
    };
  });
  return {
    id: plan.id,
    status: plan.status,
    file: `${plan.container}/${plan.blobName}`,
    ...(plan.format ? { format: plan.format } : {}),
    ...(plan.message ? { message: plan.message } : {}),
    ...(plan.errorCode ? { errorCode: plan.errorCode } : {}),
    ...(plan.order ? { order: plan.order } : {}),
    ...(plan.stage !== undefined ? { stage: plan.stage } : {}),
    tables: tableViews,
    counts,
    timings: {
      createdAt: plan.createdAt,
      updatedAt: plan.updatedAt,
      ...(plan.startedAt ? { startedAt: plan.startedAt } : {}),
      ...(plan.finishedAt ? { finishedAt: plan.finishedAt } : {}),
    },
    links: { self: planStatusUrlOf(plan.id), ...(plan.movedTo ? { source: plan.movedTo } : {}) },
  };
}
