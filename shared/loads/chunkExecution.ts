/**
 * Sends a chunk's converted rows to Dataverse and returns one outcome per row: through `$batch`
 * (ExecuteMultiple semantics, including ContinueOnError=false stopping at the first fault) or through the bulk
 * messages (CreateMultiple / UpdateMultiple / UpsertMultiple, bad rows isolated by the client).
 * A create that meets a duplicate key on its own deterministic id was written by an earlier attempt: if the
 * record with that id exists it counts as done, otherwise the duplicate is real (an alternate key) and the row fails.
 */
import type {
  CallOptions,
  DataverseClient,
  OrganizationRequest,
  OrganizationResponse,
  OrganizationServiceFault,
} from '../dataverse/index';
import { entityPath, isDuplicateKeyFault } from '../dataverse/index';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { LoadProfile } from '../ingestion/loadProfile';
import type { ConvertedRow } from '../ingestion/rowConversion';
import type { BlobSource } from './blobSource';
import { completeColumnKinds, resolveOwners, runPairs } from './columnKindExecution';
import { isSettledDelete, resolveUnaddressableKeys } from './keyResolution';

/** What a succeeded row did in Dataverse (an upsert says which, when asked for the record: 201 or 200). */
export type RecordOperation = 'created' | 'updated' | 'deleted';

export type RowOutcome =
  | { status: 'succeeded'; id?: string; recovered?: boolean; operation?: RecordOperation }
  | { status: 'failed'; code: string; message: string; httpStatus?: number; column?: string; value?: string }
  | { status: 'notProcessed' };

export type ExecutionMode = 'batch' | 'bulk';

/**
 * The organization request of a converted row. `returnRecord`: an upsert asks for its record's id
 * (`Prefer: return=representation`, `$select` of the primary id), so its answer says created (201) or updated
 * (200) and carries the id, which a 204 to a PATCH by alternate key does not.
 */
export function requestOf(plan: LoadPlan, row: ConvertedRow, returnRecord = false): OrganizationRequest {
  const entitySetName = plan.table.entitySetName;
  const key = row.key;
  if (returnRecord && row.operation === 'upsert')
    return {
      kind: 'webApi',
      request: {
        method: 'PATCH',
        path: `${entityPath(entitySetName, key!)}?$select=${plan.table.primaryIdAttribute}`,
        headers: { Prefer: 'return=representation' },
        body: row.body,
        retrySafe: true,
      },
    };
  switch (row.operation) {
    case 'create':
      return {
        kind: 'create',
        entitySetName,
        attributes: row.body,
        primaryIdAttribute: plan.table.primaryIdAttribute,
        ...(row.recordId ? { id: row.recordId } : {}),
      };
    case 'update':
      return { kind: 'update', entitySetName, key: key!, attributes: row.body };
    case 'upsert':
      return { kind: 'upsert', entitySetName, key: key!, attributes: row.body };
    case 'delete':
      return { kind: 'delete', entitySetName, key: key! };
  }
}

/** `auto` picks the bulk messages where they keep per-row results; ContinueOnError=false needs `$batch` to stop mid-way. */
export function executionModeFor(plan: LoadPlan, profile: LoadProfile): ExecutionMode {
  const bulkFits =
    profile.continueOnError &&
    !plan.pairs &&
    // UpsertMultiple answers 204 with no ids: only `$batch` tells which upserts created and which updated.
    !(profile.returnResponses && plan.operation === 'upsert') &&
    plan.operation !== 'delete' &&
    !(plan.operation === 'update' && plan.key?.kind !== 'primaryId');
  if (profile.executionMode === 'batch' || !bulkFits) return 'batch';
  return 'bulk';
}

export function callOptionsOf(profile: LoadProfile): CallOptions {
  return {
    ...(profile.bypassBusinessLogic ? { bypassBusinessLogic: profile.bypassBusinessLogic } : {}),
    ...(profile.bypassCustomPluginExecution !== undefined
      ? { bypassCustomPluginExecution: profile.bypassCustomPluginExecution }
      : {}),
    ...(profile.suppressDuplicateDetection !== undefined
      ? { suppressDuplicateDetection: profile.suppressDuplicateDetection }
      : {}),
    ...(profile.callerObjectId ? { callerObjectId: profile.callerObjectId } : {}),
  };
}

const failedOf = (fault: OrganizationServiceFault): RowOutcome => ({
  status: 'failed',
  code: fault.code || `HTTP${fault.status}`,
  message: fault.message,
  httpStatus: fault.status,
});

export interface ExecuteRowsOptions {
  client: DataverseClient;
  plan: LoadPlan;
  mode: ExecutionMode;
  continueOnError: boolean;
  callOptions: CallOptions;
  batchSize: number;
  /** A retried chunk: a delete that finds nothing was done by the earlier attempt. */
  isRetry: boolean;
  /** Column kinds (issue 16): owner look-ups are cached per load; file cells are read from these blobs. */
  loadId?: string;
  blobs?: Pick<BlobSource, 'properties' | 'read'>;
  /** ReturnResponses: upserts report the record's id and whether it was created or updated. */
  returnResponses?: boolean;
  /** Bulk messages: send the rows as this many requests at once (a load's tail, see tailParallelRequests). */
  parallelRequests?: number;
}

const operationOf: Record<ConvertedRow['operation'], RecordOperation> = {
  create: 'created',
  update: 'updated',
  upsert: 'updated',
  delete: 'deleted',
};

/** What the row did: an upsert answered 201 created a record (200: updated it); the others do what they say. */
function succeededOf(o: ExecuteRowsOptions, row: ConvertedRow, response?: OrganizationResponse): RowOutcome {
  let id = response?.id;
  let operation = operationOf[row.operation];
  if (row.operation === 'upsert' && response) {
    if (response.status === 201) operation = 'created';
    const body = response.body;
    const returned =
      typeof body === 'object' && body !== null
        ? (body as Record<string, unknown>)[o.plan.table.primaryIdAttribute]
        : undefined;
    if (typeof returned === 'string') id = returned;
  }
  return { status: 'succeeded', ...(o.returnResponses ? { operation } : {}), ...(id ? { id } : {}) };
}

/** Duplicate-key faults on our own ids: the record exists → done (an earlier attempt wrote it). */
async function recoverDuplicates(
  o: ExecuteRowsOptions,
  rows: ConvertedRow[],
  outcomes: (RowOutcome | undefined)[],
): Promise<void> {
  const suspects = rows
    .map((row, index) => ({ row, index, outcome: outcomes[index] }))
    .filter(
      ({ row, outcome }) =>
        row.operation === 'create' &&
        row.recordId &&
        outcome?.status === 'failed' &&
        isDuplicateKeyFault({ code: outcome.code, message: outcome.message, status: outcome.httpStatus ?? 0 }),
    );
  if (suspects.length === 0) return;
  const { entitySetName, primaryIdAttribute } = o.plan.table;
  const checks = await o.client.executeMultiple(
    suspects.map(({ row }) => ({
      kind: 'webApi',
      request: { method: 'GET', path: `${entitySetName}(${row.recordId})?$select=${primaryIdAttribute}` },
    })),
    { continueOnError: true, returnResponses: true },
    o.callOptions,
  );
  for (const item of checks.responses) {
    const suspect = suspects[item.requestIndex]!;
    if (item.response && item.response.status < 300)
      outcomes[suspect.index] = {
        status: 'succeeded',
        id: suspect.row.recordId!,
        recovered: true,
        ...(o.returnResponses ? { operation: 'created' as const } : {}),
      };
    else if (item.fault && item.fault.status === 404) {
      outcomes[suspect.index] = {
        status: 'failed',
        code: (outcomes[suspect.index] as { code: string }).code,
        message: `${(outcomes[suspect.index] as { message: string }).message} (another record already has this row's alternate-key values)`,
        httpStatus: 412,
      };
    }
  }
}

function recoverDeletes(o: ExecuteRowsOptions, rows: ConvertedRow[], outcomes: (RowOutcome | undefined)[]): void {
  if (!o.isRetry) return;
  rows.forEach((row, index) => {
    const outcome = outcomes[index];
    if (row.operation === 'delete' && outcome?.status === 'failed' && outcome.httpStatus === 404)
      outcomes[index] = { status: 'succeeded', recovered: true };
  });
}

async function runBatch(
  o: ExecuteRowsOptions,
  rows: ConvertedRow[],
  outcomes: (RowOutcome | undefined)[],
): Promise<void> {
  let start = 0;
  while (start < rows.length) {
    const slice = rows.slice(start);
    const answer = await o.client.executeMultiple(
      slice.map((row) => requestOf(o.plan, row, o.returnResponses)),
      { continueOnError: o.continueOnError, returnResponses: true },
      o.callOptions,
    );
    let last = start - 1;
    for (const item of answer.responses) {
      const index = start + item.requestIndex;
      last = Math.max(last, index);
      outcomes[index] = item.fault ? failedOf(item.fault) : succeededOf(o, rows[index]!, item.response);
    }
    await recoverDuplicates(o, rows, outcomes);
    recoverDeletes(o, rows, outcomes);
    if (o.continueOnError || last >= rows.length - 1 || last < start) return;
    // ContinueOnError=false stopped at a fault; when that fault was our own earlier write, go on after it.
    if (outcomes[last]?.status === 'failed') return;
    start = last + 1;
  }
}

async function runBulk(
  o: ExecuteRowsOptions,
  rows: ConvertedRow[],
  outcomes: (RowOutcome | undefined)[],
): Promise<void> {
  const { entitySetName, logicalName, primaryIdAttribute } = o.plan.table;
  const options = {
    ...o.callOptions,
    primaryIdAttribute,
    chunkSize: o.batchSize,
    ...(o.parallelRequests ? { parallelRequests: o.parallelRequests } : {}),
  };
  const result =
    o.plan.operation === 'create'
      ? await o.client.createMultiple(
          entitySetName,
          logicalName,
          rows.map((r) => r.body),
          options,
        )
      : o.plan.operation === 'update'
        ? await o.client.updateMultiple(
            entitySetName,
            logicalName,
            rows.map((r) => ({ id: r.key as string, attributes: r.body })),
            options,
          )
        : await o.client.upsertMultiple(
            entitySetName,
            logicalName,
            rows.map((r) => ({ key: r.key!, attributes: r.body })),
            options,
          );
  for (const item of result.results)
    outcomes[item.index] = item.fault
      ? failedOf(item.fault)
      : {
          status: 'succeeded',
          // UpsertMultiple doesn't say which upserts created (and returnResponses upserts go through `$batch`).
          ...(o.returnResponses && o.plan.operation !== 'upsert' ? { operation: operationOf[o.plan.operation] } : {}),
          ...(item.id ? { id: item.id } : {}),
        };
  await recoverDuplicates(o, rows, outcomes);
}

async function send(o: ExecuteRowsOptions, rows: ConvertedRow[]): Promise<RowOutcome[]> {
  const outcomes: (RowOutcome | undefined)[] = rows.map(() => undefined);
  if (rows.length > 0) {
    if (o.mode === 'bulk' && o.continueOnError) await runBulk(o, rows, outcomes);
    else await runBatch(o, rows, outcomes);
  }
  return outcomes.map((outcome) => outcome ?? { status: 'notProcessed' });
}

/**
 * One outcome per row, in order; rows never sent (ContinueOnError=false after a fault) are `notProcessed`.
 * Rows keyed or bound by a value no key URL can carry are first rewritten to address records by id (keyResolution).
 */
export async function executeRows(o: ExecuteRowsOptions, rows: ConvertedRow[]): Promise<RowOutcome[]> {
  if (o.plan.pairs) return runPairs(o, rows);
  const owners = await resolveOwners(o, rows);
  const resolution = await resolveUnaddressableKeys(o, owners.rows);
  for (const [index, fault] of owners.faults) resolution.faults.set(index, fault);
  const outcomes: RowOutcome[] = rows.map(() => ({ status: 'notProcessed' }));
  const settled = (index: number) => resolution.faults.has(index) || isSettledDelete(resolution, index, o.isRetry);
  // ContinueOnError=false: a row that fails before it is sent stops the load there, as a fault from Dataverse would.
  const firstFault = rows.findIndex((_, index) => resolution.faults.has(index));
  const limit = o.continueOnError || firstFault < 0 ? rows.length : firstFault + 1;
  const sendable = rows.map((_, index) => index).filter((index) => index < limit && !settled(index));
  const sent = await send(
    o,
    sendable.map((index) => resolution.rows[index]!),
  );
  let stop = rows.length;
  sendable.forEach((index, position) => {
    outcomes[index] = sent[position]!;
    if (!o.continueOnError && stop === rows.length && sent[position]!.status !== 'succeeded') stop = index;
  });
  rows.forEach((_, index) => {
    if (!settled(index) || index >= limit || index > stop) return;
    const fault = resolution.faults.get(index);
    outcomes[index] = fault
      ? { status: 'failed', code: fault.code, message: fault.message, httpStatus: fault.httpStatus }
      : { status: 'succeeded', recovered: true };
  });
  await completeColumnKinds(o, resolution.rows, outcomes);
  return outcomes;
}
