/**
 * The requests around a row that the column kinds need (issue 16, shared/ingestion/README.md "Column kinds"):
 * - owners: each distinct owner value is looked up once per load (`GET systemusers|teams?$filter=`) and bound as
 *   `ownerid@odata.bind`; no match or several fail the row before it is sent;
 * - state: a create in a state the table does not take on create is followed by an update to that state;
 * - files: blobs named by file/image cells are uploaded after the record exists (fileUpload.ts);
 * - N:N pair files: keys resolved to ids, then `POST …/$ref` (or `DELETE`) in `$batch`; an existing association is done.
 * Rows without these extras are not touched, so a plain file's chunks do no extra work.
 */
import type { CallOptions, DataverseClient, OrganizationRequest } from '../dataverse/index';
import { DataverseError, odataLiteral } from '../dataverse/index';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { ConvertedRow } from '../ingestion/rowConversion';
import {
  associateRequest,
  associationOutcome,
  bindOwner,
  disassociateRequest,
  ownerFilter,
  type RecordReference,
  type RelationshipSide,
} from '../ingestion/columnKinds/index';
import type { BlobSource } from './blobSource';
import type { RowOutcome } from './chunkExecution';
import { uploadFile } from './fileUpload';
import type { ResolutionFault } from './keyResolution';

export interface KindExecutionOptions {
  client: DataverseClient;
  plan: LoadPlan;
  callOptions: CallOptions;
  /** Owner look-ups are cached per load. */
  loadId?: string;
  /** Where file and image blobs are read from (the load's storage account). */
  blobs?: Pick<BlobSource, 'properties' | 'read'>;
}

interface IdQuery {
  entitySetName: string;
  idAttribute: string;
  /** `$filter` expression, not yet encoded. */
  filter: string;
}
type IdAnswer = { ids: string[] } | { fault: ResolutionFault };

/** Runs distinct id queries in one `$batch`; answers by the query's `filter` + set. */
async function queryIds(o: KindExecutionOptions, queries: IdQuery[]): Promise<Map<string, IdAnswer>> {
  const answers = new Map<string, IdAnswer>();
  if (queries.length === 0) return answers;
  const result = await o.client.executeMultiple(
    queries.map((q) => ({
      kind: 'webApi',
      request: {
        method: 'GET',
        path: `${q.entitySetName}?$select=${q.idAttribute}&$filter=${encodeURIComponent(q.filter)}`,
      },
    })),
    { continueOnError: true, returnResponses: true },
    o.callOptions,
  );
  for (const item of result.responses) {
    const q = queries[item.requestIndex]!;
    const key = `${q.entitySetName}|${q.filter}`;
    if (item.fault) {
      // A look-up Dataverse could not answer now fails the chunk attempt (it is retried), not the rows.
      if (item.fault.status >= 500 || item.fault.status === 429)
        throw new DataverseError({ code: item.fault.code, message: item.fault.message, status: item.fault.status });
      answers.set(key, {
        fault: { code: item.fault.code, message: item.fault.message, httpStatus: item.fault.status },
      });
      continue;
    }
    const value = (item.response?.body as { value?: unknown } | undefined)?.value;
    const records = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
    answers.set(key, {
      ids: records.map((r) => r[q.idAttribute]).filter((v): v is string => typeof v === 'string'),
    });
  }
  return answers;
}

/** Owner answers per load (a bounded number of loads), so a value is looked up once per load. */
const ownerCache = new Map<string, Map<string, string[]>>();
function ownerCacheOf(loadId: string | undefined): Map<string, string[]> {
  if (loadId === undefined) return new Map<string, string[]>();
  let cache = ownerCache.get(loadId);
  if (!cache) {
    if (ownerCache.size >= 32) ownerCache.delete(ownerCache.keys().next().value!);
    ownerCache.set(loadId, (cache = new Map<string, string[]>()));
  }
  return cache;
}

/** Binds each row's owner; rows whose owner matches no user/team or several fail (faults by row index). */
export async function resolveOwners(
  o: KindExecutionOptions,
  rows: ConvertedRow[],
): Promise<{ rows: ConvertedRow[]; faults: Map<number, ResolutionFault> }> {
  const faults = new Map<number, ResolutionFault>();
  if (!o.plan.columnKinds?.owner) return { rows, faults };
  const cache = ownerCacheOf(o.loadId);
  const wanted = new Map<string, IdQuery>();
  for (const row of rows) {
    const q = row.ownerBind?.query;
    if (q && !cache.has(q.cacheKey))
      wanted.set(q.cacheKey, { entitySetName: q.entitySetName, idAttribute: q.idAttribute, filter: ownerFilter(q) });
  }
  const keys = [...wanted.keys()];
  const answers = await queryIds(o, [...wanted.values()]);
  keys.forEach((cacheKey) => {
    const q = wanted.get(cacheKey)!;
    const answer = answers.get(`${q.entitySetName}|${q.filter}`);
    if (answer && 'ids' in answer) cache.set(cacheKey, answer.ids);
  });
  const out = rows.map((row, index) => {
    const owner = row.ownerBind;
    if (!owner) return row;
    const ids = cache.get(owner.query.cacheKey);
    if (!ids) {
      const q = wanted.get(owner.query.cacheKey);
      const answer = q && answers.get(`${q.entitySetName}|${q.filter}`);
      const fault = answer && 'fault' in answer ? answer.fault : undefined;
      faults.set(index, {
        code: fault?.code ?? 'OwnerLookupFailed',
        httpStatus: fault?.httpStatus ?? 500,
        message: `row ${row.rowNumber}, column '${owner.column}': looking up '${owner.text}' failed: ${fault?.message ?? 'no answer'}`,
      });
      return row;
    }
    const bound = bindOwner(owner.query, ids, row.rowNumber, owner.column, owner.text);
    if (!bound.ok) {
      faults.set(index, { code: 'OwnerNotResolved', httpStatus: 400, message: bound.fault.message });
      return row;
    }
    return { ...row, body: { ...row.body, [bound.value.property]: bound.value.value } };
  });
  return { rows: out, faults };
}

const recordIdOf = (row: ConvertedRow, outcome: RowOutcome): string | undefined =>
  row.recordId ??
  (outcome.status === 'succeeded' ? outcome.id : undefined) ??
  (typeof row.key === 'string' ? row.key : undefined);

/** After the rows' own requests: state updates, then file uploads. A row whose follow-up fails is failed, once. */
export async function completeColumnKinds(
  o: KindExecutionOptions,
  rows: ConvertedRow[],
  outcomes: RowOutcome[],
): Promise<void> {
  if (!o.plan.columnKinds) return;
  const { entitySetName } = o.plan.table;
  const updates: { index: number; request: OrganizationRequest }[] = [];
  rows.forEach((row, index) => {
    if (!row.stateUpdate || outcomes[index]?.status !== 'succeeded') return;
    const key = recordIdOf(row, outcomes[index]) ?? row.key;
    if (key === undefined) return;
    updates.push({ index, request: { kind: 'update', entitySetName, key, attributes: row.stateUpdate } });
  });
  if (updates.length > 0) {
    const answer = await o.client.executeMultiple(
      updates.map((u) => u.request),
      { continueOnError: true, returnResponses: true },
      o.callOptions,
    );
    for (const item of answer.responses)
      if (item.fault) {
        const { index } = updates[item.requestIndex]!;
        outcomes[index] = {
          status: 'failed',
          code: item.fault.code,
          httpStatus: item.fault.status,
          message: `row ${rows[index]!.rowNumber}: the record was written, but setting its state failed: ${item.fault.message}`,
        };
      }
  }
  const uploads = rows.flatMap((row, index) =>
    row.uploads && outcomes[index]?.status === 'succeeded' ? [{ row, index }] : [],
  );
  // A few files at once: each is a sequence of requests, and memory holds one 4 MB block per file.
  for (let i = 0; i < uploads.length; i += 4)
    await Promise.all(
      uploads.slice(i, i + 4).map(async ({ row, index }) => {
        const id = recordIdOf(row, outcomes[index]!);
        for (const upload of row.uploads!) {
          const fault = id
            ? await uploadFile({ ...o, table: o.plan.table }, id, row.rowNumber, upload)
            : `row ${row.rowNumber}, column '${upload.column}': the record's id is not known, so '${upload.text}' was not uploaded`;
          if (fault) {
            outcomes[index] = { status: 'failed', code: 'FileUploadFailed', message: fault };
            return;
          }
        }
      }),
    );
}

/** N:N pair rows → one outcome each: keys resolved to ids, then associate (or disassociate) in `$batch`. */
export async function runPairs(o: KindExecutionOptions, rows: ConvertedRow[]): Promise<RowOutcome[]> {
  const plan = o.plan.pairs!;
  const r = plan.relationship;
  const keyQuery = (side: RelationshipSide, ref: RecordReference): IdQuery | undefined =>
    ref.kind === 'key'
      ? {
          entitySetName: side.entitySetName,
          idAttribute: side.primaryIdAttribute,
          filter: `${ref.attribute} eq ${odataLiteral(ref.value)}`,
        }
      : undefined;
  const queries = new Map<string, IdQuery>();
  for (const row of rows)
    for (const q of [keyQuery(r.entity1, row.association!.entity1), keyQuery(r.entity2, row.association!.entity2)])
      if (q) queries.set(`${q.entitySetName}|${q.filter}`, q);
  const answers = await queryIds(o, [...queries.values()]);
  const outcomes: RowOutcome[] = rows.map(() => ({ status: 'notProcessed' }));
  const requests: { index: number; request: OrganizationRequest }[] = [];
  rows.forEach((row, index) => {
    const idOf = (side: RelationshipSide, ref: RecordReference, column: string): string | RowOutcome => {
      const q = keyQuery(side, ref);
      if (!q) return (ref as { id: string }).id;
      const answer = answers.get(`${q.entitySetName}|${q.filter}`);
      if (answer && 'ids' in answer && answer.ids.length === 1) return answer.ids[0]!;
      const what =
        answer && 'fault' in answer
          ? answer.fault.message
          : `${answer?.ids.length ? 'several' : 'no'} ${side.table} records have ${q.filter.replace(' eq ', ' = ')}`;
      return {
        status: 'failed',
        code: 'PairNotResolved',
        message: `row ${row.rowNumber}, column '${column}': ${what}`,
      };
    };
    const one = idOf(r.entity1, row.association!.entity1, plan.entity1.column);
    const two = idOf(r.entity2, row.association!.entity2, plan.entity2.column);
    if (typeof one !== 'string') outcomes[index] = one;
    else if (typeof two !== 'string') outcomes[index] = two;
    else {
      const request = o.plan.operation === 'delete' ? disassociateRequest(r, one, two) : associateRequest(r, one, two);
      requests.push({ index, request: { kind: 'webApi', request: { ...request, retrySafe: true } } });
    }
  });
  if (requests.length === 0) return outcomes;
  const answer = await o.client.executeMultiple(
    requests.map((x) => x.request),
    { continueOnError: true, returnResponses: true },
    o.callOptions,
  );
  for (const item of answer.responses) {
    const { index } = requests[item.requestIndex]!;
    const row = rows[index]!;
    outcomes[index] =
      !item.fault || associationOutcome(item.fault.status, item.fault.code) === 'done'
        ? { status: 'succeeded' }
        : {
            status: 'failed',
            code: item.fault.code,
            httpStatus: item.fault.status,
            message: `row ${row.rowNumber}: ${r.schemaName}: ${item.fault.message}`,
          };
  }
  return outcomes;
}
