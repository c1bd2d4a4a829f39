/**
 * The Dataverse calls background jobs make, over the client's `send` (throttling, retries and 401 refresh
 * live there, so long polls survive token expiry).
 */
import { z } from 'zod';
import { DataverseError } from '../dataverse/dataverseError';
import type { WebApiRequest } from '../dataverse/organizationRequest';
import type { AsyncOperationStatus } from './jobRecord';
import { guidPattern } from '../security/inputChecks';

export type SendWebApiRequest = (
  request: WebApiRequest,
  options?: { abortSignal?: AbortSignal },
) => Promise<{ status: number; body: unknown }>;

export interface ImportSolutionParameters {
  customizationFile: Uint8Array;
  overwriteUnmanagedCustomizations: boolean;
  publishWorkflows: boolean;
  holdingSolution: boolean;
  convertToManaged: boolean;
  skipProductUpdateDependencies: boolean;
  componentParameters: Record<string, unknown>[];
}

export interface MergeParameters {
  table: 'account' | 'contact';
  target: string;
  subordinate: string;
  updateContent: Record<string, unknown>;
  performParentingChecks: boolean;
}

export interface ImportJobRow {
  importjobid: string;
  solutionname?: string | null;
  progress?: number | null;
  data?: string | null;
}

export interface AsyncOperationApi {
  submitImport(
    parameters: ImportSolutionParameters,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ asyncOperationId: string; importJobKey: string }>;
  submitStageAndUpgrade(
    parameters: ImportSolutionParameters,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ asyncOperationId: string; importJobKey: string }>;
  submitDeleteAndPromote(
    uniqueName: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ asyncOperationId: string }>;
  merge(parameters: MergeParameters, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** One filtered query per URL-sized slice of ids (normally one request for a whole sweep). */
  retrieveAsyncOperations(
    ids: readonly string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<AsyncOperationStatus[]>;
  /** Asks Dataverse to cancel: statecode 3, statuscode 32. */
  cancel(asyncOperationId: string, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** GET of a `solutions` query (release/installedSolutions.ts builds the path); the answer's body, unchecked. */
  querySolutions(path: string, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  retrieveImportJob(importJobKey: string, options?: { abortSignal?: AbortSignal }): Promise<ImportJobRow | undefined>;
  retrieveFormattedImportJobResults(
    importJobKey: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<string | undefined>;
}

/** Dataverse's "Cannot start another [Import] because there is a previous [Import] running" (CustomizationLockException). */
const solutionOperationBusyCode = '0x80071151';

export function isSolutionOperationBusy(error: unknown): boolean {
  return (
    error instanceof DataverseError &&
    (error.code.toLowerCase() === solutionOperationBusyCode || /Cannot start another \[/i.test(error.message))
  );
}

const submitResponseSchema = z.looseObject({
  AsyncOperationId: z.string().min(1),
  ImportJobKey: z.string().optional(),
});
const asyncOperationRowSchema = z.looseObject({
  asyncoperationid: z.string(),
  statecode: z.number(),
  statuscode: z.number(),
  message: z.string().nullish(),
  friendlymessage: z.string().nullish(),
  startedon: z.string().nullish(),
  completedon: z.string().nullish(),
  errorcode: z.number().nullish(),
});
const collectionSchema = <T extends z.ZodType>(row: T) => z.looseObject({ value: z.array(row) });

function guid(value: string): string {
  if (!guidPattern.test(value)) throw new RangeError(`'${value}' is not a GUID`);
  return value;
}

export const asyncOperationSelect =
  'asyncoperationid,statecode,statuscode,message,friendlymessage,startedon,completedon,errorcode';

/** Splits ids into `$filter` queries whose URL stays under `maxPathLength` characters. */
export function asyncOperationQueries(ids: readonly string[], maxPathLength = 2000): string[] {
  const prefix = `asyncoperations?$select=${asyncOperationSelect}&$filter=`;
  const queries: string[] = [];
  let terms: string[] = [];
  const flush = () => {
    if (terms.length > 0) queries.push(prefix + encodeURIComponent(terms.join(' or ')));
    terms = [];
  };
  for (const id of ids) {
    const term = `asyncoperationid eq ${guid(id)}`;
    const nextLength = prefix.length + encodeURIComponent([...terms, term].join(' or ')).length;
    if (terms.length > 0 && nextLength > maxPathLength) flush();
    terms.push(term);
  }
  flush();
  return queries;
}

function importBody(p: ImportSolutionParameters, holding: boolean): Record<string, unknown> {
  return {
    OverwriteUnmanagedCustomizations: p.overwriteUnmanagedCustomizations,
    PublishWorkflows: p.publishWorkflows,
    CustomizationFile: Buffer.from(p.customizationFile).toString('base64'),
    ConvertToManaged: p.convertToManaged,
    SkipProductUpdateDependencies: p.skipProductUpdateDependencies,
    ...(holding ? { HoldingSolution: true } : {}),
    ComponentParameters: p.componentParameters,
  };
}

export function createAsyncOperationApi(
  send: SendWebApiRequest,
  options: { maxPathLength?: number } = {},
): AsyncOperationApi {
  async function submit(action: string, body: Record<string, unknown>, abortSignal?: AbortSignal) {
    const response = await send({ method: 'POST', path: action, body, retrySafe: false }, { abortSignal });
    return submitResponseSchema.parse(response.body);
  }
  return {
    async submitImport(p, o) {
      const r = await submit('ImportSolutionAsync', importBody(p, p.holdingSolution), o?.abortSignal);
      return { asyncOperationId: r.AsyncOperationId, importJobKey: r.ImportJobKey ?? '' };
    },
    async submitStageAndUpgrade(p, o) {
      const r = await submit('StageAndUpgradeAsync', importBody(p, false), o?.abortSignal);
      return { asyncOperationId: r.AsyncOperationId, importJobKey: r.ImportJobKey ?? '' };
    },
    async submitDeleteAndPromote(uniqueName, o) {
      const r = await submit('DeleteAndPromoteAsync', { UniqueName: uniqueName }, o?.abortSignal);
      return { asyncOperationId: r.AsyncOperationId };
    },
    async merge(p, o) {
      await send(
        {
          method: 'POST',
          path: 'Merge',
          retrySafe: false,
          body: {
            Target: { '@odata.type': `Microsoft.Dynamics.CRM.${p.table}`, [`${p.table}id`]: guid(p.target) },
            Subordinate: { '@odata.type': `Microsoft.Dynamics.CRM.${p.table}`, [`${p.table}id`]: guid(p.subordinate) },
            UpdateContent: { '@odata.type': `Microsoft.Dynamics.CRM.${p.table}`, ...p.updateContent },
            PerformParentingChecks: p.performParentingChecks,
          },
        },
        { abortSignal: o?.abortSignal },
      );
    },
    async retrieveAsyncOperations(ids, o) {
      const rows: AsyncOperationStatus[] = [];
      for (const path of asyncOperationQueries(ids, options.maxPathLength)) {
        const response = await send({ method: 'GET', path }, { abortSignal: o?.abortSignal });
        rows.push(...collectionSchema(asyncOperationRowSchema).parse(response.body).value);
      }
      return rows;
    },
    async cancel(asyncOperationId, o) {
      await send(
        {
          method: 'PATCH',
          path: `asyncoperations(${guid(asyncOperationId)})`,
          body: { statecode: 3, statuscode: 32 },
          retrySafe: true,
        },
        { abortSignal: o?.abortSignal },
      );
    },
    async querySolutions(path, o) {
      return (await send({ method: 'GET', path }, { abortSignal: o?.abortSignal })).body;
    },
    async retrieveImportJob(key, o) {
      try {
        const response = await send(
          { method: 'GET', path: `importjobs(${guid(key)})?$select=importjobid,solutionname,progress,data` },
          { abortSignal: o?.abortSignal },
        );
        return z
          .looseObject({
            importjobid: z.string(),
            solutionname: z.string().nullish(),
            progress: z.number().nullish(),
            data: z.string().nullish(),
          })
          .parse(response.body);
      } catch (error) {
        if (error instanceof DataverseError && error.status === 404) return undefined;
        throw error;
      }
    },
    async retrieveFormattedImportJobResults(key, o) {
      const response = await send(
        { method: 'GET', path: `RetrieveFormattedImportJobResults(ImportJobId=${guid(key)})` },
        { abortSignal: o?.abortSignal },
      );
      return (
        z.looseObject({ FormattedResults: z.string().nullish() }).parse(response.body).FormattedResults ?? undefined
      );
    },
  };
}
