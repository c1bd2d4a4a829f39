/**
 * Solution operations of the emulator: ImportSolutionAsync, StageAndUpgradeAsync, DeleteAndPromoteAsync, the
 * asyncoperations / importjobs / solutions entity sets, and RetrieveFormattedImportJobResults. Mounted by the
 * emulator's router through `EmulatorRoute`; paths are relative to the Web API base.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { dataverseError, type EmulatorRequest, type EmulatorResponse, type EmulatorRoute } from '../types';
import { ActionParameterError, parseSolutionAction } from './solutionActions';
import {
  asyncOperationRow,
  operationPhase,
  isFinished,
  type OrganizationIdentity,
  type SolutionMessageName,
  type SolutionOperation,
} from './solutionOperation';
import { formattedImportResults, importJobRow } from './importJob';
import { createSolutionStore, objectDoesNotExistCode, solutionRow } from './solutionStore';
import { queryEntitySet, type EntitySetDefinition } from './entitySetQuery';
import { guidPattern, queryErrorCode } from '../odata/filter';

export interface SolutionOperationsOptions {
  /** The organization URL (no trailing slash), used in `@odata.context`. */
  baseUrl: string;
  /** How long an operation stays queued (0/0) and then in progress (2/20) before it ends. Defaults 2000 and 10000 ms. */
  timing?: { queuedMs?: number; runMs?: number };
  /** HTTP status of the "Cannot start another [Import]" refusal (default 400). */
  refusalStatus?: number;
  /** Clock, injectable so tests can move time. */
  now?: () => number;
}

export interface SolutionOperationsStats {
  /** Operations by their statuscode now ("0", "20", "30", "31", "32"). */
  asyncOperationsByStatus: Record<string, number>;
  /** GET requests answered on asyncoperations, importjobs, solutions and RetrieveFormattedImportJobResults. */
  solutionQueries: number;
  /** Solution operations accepted, and refused by the one-at-a-time rule. */
  submitted: number;
  refused: number;
  /** Operations accepted, by message (ImportSolutionAsync, StageAndUpgradeAsync, DeleteAndPromoteAsync). */
  submittedByMessage: Record<string, number>;
}

export interface SolutionOperations {
  route: EmulatorRoute;
  /** The logical name of one of its entity sets (`asyncoperations` → `asyncoperation`). */
  logicalNameOf(entitySet: string): string | undefined;
  /** New timings and refusal status; operations already submitted keep the times they were given. */
  configure(settings: Pick<SolutionOperationsOptions, 'timing' | 'refusalStatus'>): void;
  reset(): void;
  stats(): SolutionOperationsStats;
}

/** CustomizationLockException: another solution operation holds the organization's lock. */
export const customizationLockCode = '0x80071151';
export const customizationLockMessage =
  'Cannot start another [Import] because there is a previous [Import] running at this moment.';
/** AsyncOperationInvalidStateChange / ...ToComplete. */
const invalidStateChangeCode = '0x80044162';
const invalidStateChangeToCompleteCode = '0x80044165';

const actions = new Set<SolutionMessageName>(['ImportSolutionAsync', 'StageAndUpgradeAsync', 'DeleteAndPromoteAsync']);
const entityPathPattern = /^(asyncoperations|importjobs|solutions)(?:\(([^)]*)\))?$/;
const formattedResultsPattern =
  /^(?:Microsoft\.Dynamics\.CRM\.)?RetrieveFormattedImportJobResults\(ImportJobId=([^)]*)\)$/;

const cancelBody = z.looseObject({ statecode: z.number().int().optional(), statuscode: z.number().int().optional() });

const statusCodes = { queued: 0, running: 20, succeeded: 30, failed: 31, canceled: 32 } as const;

const json = (status: number, body?: unknown): EmulatorResponse => ({
  status,
  headers: { 'OData-Version': '4.0' },
  body,
});

export function createSolutionOperations(options: SolutionOperationsOptions): SolutionOperations {
  const now = options.now ?? Date.now;
  const timing = { queuedMs: options.timing?.queuedMs ?? 2000, runMs: options.timing?.runMs ?? 10000 };
  let refusalStatus = options.refusalStatus ?? 400;
  const contextBase = `${options.baseUrl.replace(/\/$/, '')}/api/data/v9.2/$metadata#`;
  const store = createSolutionStore({ timing, now });
  const org: OrganizationIdentity = {
    solutionOperationToken: randomUUID(),
    businessUnitId: randomUUID(),
    hostId: `EMULATOR.MSCRMAsyncService.${randomUUID()}`,
  };
  const owners = new Map<string, string>();
  const ownerOf = (callerId: string): string => {
    if (guidPattern.test(callerId)) return callerId.toLowerCase();
    let id = owners.get(callerId);
    if (!id) owners.set(callerId, (id = randomUUID()));
    return id;
  };
  const counters = { solutionQueries: 0, submitted: 0, refused: 0 };
  const submittedByMessage: Record<string, number> = {};

  const asyncOperations: EntitySetDefinition<SolutionOperation> = {
    entitySet: 'asyncoperations',
    logicalName: 'asyncoperation',
    key: 'asyncoperationid',
    get: (id) => store.operations.get(id),
    all: () => store.operations.values(),
    row: (op) => asyncOperationRow(op, now(), org),
  };
  const importJobs: EntitySetDefinition<SolutionOperation> = {
    entitySet: 'importjobs',
    logicalName: 'importjob',
    key: 'importjobid',
    get: (id) => store.importJobs.get(id),
    all: () => store.importJobs.values(),
    row: (op) => importJobRow(op, now()),
  };
  const solutionsSet: EntitySetDefinition<ReturnType<typeof store.solutions.get> & object> = {
    entitySet: 'solutions',
    logicalName: 'solution',
    key: 'solutionid',
    get: (id) => [...store.solutions.values()].find((s) => s.solutionid === id),
    all: () => store.solutions.values(),
    row: solutionRow,
  };
  const sets = { asyncoperations: asyncOperations, importjobs: importJobs, solutions: solutionsSet } as const;

  function submitAction(messageName: SolutionMessageName, req: EmulatorRequest): EmulatorResponse {
    if (req.method !== 'POST')
      return dataverseError(
        405,
        queryErrorCode,
        `The requested resource does not support http method '${req.method}'.`,
      );
    let request;
    try {
      request = parseSolutionAction(messageName, req.body);
    } catch (error) {
      if (error instanceof ActionParameterError) return dataverseError(400, error.code, error.message);
      throw error;
    }
    store.settle();
    const active = store.activeOperation();
    if (active) {
      counters.refused++;
      const retryAfter = Math.max(1, Math.ceil((active.endAt - now()) / 1000));
      return dataverseError(
        refusalStatus,
        customizationLockCode,
        customizationLockMessage,
        refusalStatus === 429 ? { 'Retry-After': String(retryAfter) } : undefined,
      );
    }
    const op = store.submit(request, ownerOf(req.callerId));
    counters.submitted++;
    submittedByMessage[messageName] = (submittedByMessage[messageName] ?? 0) + 1;
    return json(
      200,
      messageName === 'DeleteAndPromoteAsync'
        ? {
            '@odata.context': `${contextBase}Microsoft.Dynamics.CRM.DeleteAndPromoteAsyncResponse`,
            AsyncOperationId: op.asyncOperationId,
          }
        : {
            '@odata.context': `${contextBase}Microsoft.Dynamics.CRM.${messageName}Response`,
            ImportJobKey: op.importJobId,
            AsyncOperationId: op.asyncOperationId,
          },
    );
  }

  function cancel(req: EmulatorRequest, id: string): EmulatorResponse {
    const op = store.operations.get(id);
    if (!op)
      return dataverseError(404, objectDoesNotExistCode, `Entity 'asyncoperation' With Id = ${id} Does Not Exist`);
    let body: z.infer<typeof cancelBody>;
    try {
      body = cancelBody.parse(JSON.parse(req.body || '{}'));
    } catch {
      return dataverseError(
        400,
        '0x80048d19',
        "Error identified in Payload provided by the user for Entity :'asyncoperations'. The body must be a JSON object.",
      );
    }
    if (body.statecode !== 3 || (body.statuscode !== undefined && body.statuscode !== 32)) {
      const toComplete = body.statecode === 3;
      return dataverseError(
        400,
        toComplete ? invalidStateChangeToCompleteCode : invalidStateChangeCode,
        toComplete
          ? 'The target state could not be set to complete because the state transition is not valid.'
          : 'The target state could not be set because the state transition is not valid.',
      );
    }
    if (isFinished(operationPhase(op, now()))) {
      return dataverseError(
        400,
        invalidStateChangeCode,
        'The target state could not be set because the state transition is not valid.',
      );
    }
    store.cancel(op);
    if ((req.headers['prefer'] ?? '').includes('return=representation')) {
      return json(200, {
        '@odata.context': `${contextBase}asyncoperations/$entity`,
        ...asyncOperationRow(op, now(), org),
      });
    }
    return {
      status: 204,
      headers: {
        'OData-Version': '4.0',
        'OData-EntityId': `${options.baseUrl}/api/data/v9.2/asyncoperations(${op.asyncOperationId})`,
      },
    };
  }

  function formattedResults(req: EmulatorRequest, argument: string): EmulatorResponse {
    const value = argument.startsWith('@') ? (req.query.get(argument) ?? '') : argument;
    const id = value.replace(/^'|'$/g, '').toLowerCase();
    if (!guidPattern.test(id))
      return dataverseError(
        400,
        queryErrorCode,
        `Cannot convert the literal '${value}' to the expected type 'Edm.Guid'.`,
      );
    const op = store.importJobs.get(id);
    if (!op) return dataverseError(404, objectDoesNotExistCode, `Entity 'importjob' With Id = ${id} Does Not Exist`);
    return json(200, {
      '@odata.context': `${contextBase}Microsoft.Dynamics.CRM.RetrieveFormattedImportJobResultsResponse`,
      FormattedResults: formattedImportResults(op, now()),
    });
  }

  const route: EmulatorRoute = (req) => {
    const path = req.path.replace(/^\/+/, '');
    const action = path.replace(/^Microsoft\.Dynamics\.CRM\./, '') as SolutionMessageName;
    if (actions.has(action)) return submitAction(action, req);
    const formatted = formattedResultsPattern.exec(path);
    const entity = entityPathPattern.exec(path);
    if (!formatted && !entity) return undefined;
    store.settle();
    if (req.method === 'GET') counters.solutionQueries++;
    if (formatted) {
      if (req.method !== 'GET')
        return dataverseError(
          405,
          queryErrorCode,
          `The requested resource does not support http method '${req.method}'.`,
        );
      return formattedResults(req, formatted[1]!);
    }
    const set = sets[entity![1] as keyof typeof sets] as EntitySetDefinition<unknown>;
    const rawKey = entity![2];
    const key = rawKey?.replace(new RegExp(`^${set.key}=`), '').toLowerCase();
    if (key !== undefined && !guidPattern.test(key)) {
      return dataverseError(
        400,
        queryErrorCode,
        `Bad Request - Error in query syntax. '${rawKey}' is not a valid key for ${set.entitySet}.`,
      );
    }
    if (req.method === 'PATCH' && set === asyncOperations && key) return cancel(req, key);
    if (req.method !== 'GET')
      return dataverseError(
        405,
        queryErrorCode,
        `The requested resource does not support http method '${req.method}'.`,
      );
    return queryEntitySet(set, key, req.query, contextBase);
  };

  return {
    route,
    logicalNameOf: (entitySet) => (entitySet in sets ? sets[entitySet as keyof typeof sets].logicalName : undefined),
    configure(settings): void {
      // The store reads `timing` when an operation is submitted, so updating it in place reaches the next submission.
      timing.queuedMs = settings.timing?.queuedMs ?? timing.queuedMs;
      timing.runMs = settings.timing?.runMs ?? timing.runMs;
      refusalStatus = settings.refusalStatus ?? refusalStatus;
    },
    reset(): void {
      store.reset();
      counters.solutionQueries = counters.submitted = counters.refused = 0;
      for (const name of Object.keys(submittedByMessage)) delete submittedByMessage[name];
    },
    stats(): SolutionOperationsStats {
      const t = now();
      const byStatus: Record<string, number> = {};
      for (const op of store.operations.values()) {
        const status = String(statusCodes[operationPhase(op, t)]);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
      return { asyncOperationsByStatus: byStatus, ...counters, submittedByMessage: { ...submittedByMessage } };
    },
  };
}
