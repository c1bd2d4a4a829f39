/**
 * One solution operation (ImportSolutionAsync, StageAndUpgradeAsync, DeleteAndPromoteAsync) and the asyncoperation
 * row it shows at a given instant. The row is computed from the clock when read, so no timers run: a job is queued
 * until `startAt`, in progress until `endAt`, then succeeded or failed (or canceled from `canceledAt`).
 */
import type { RequiredComponent, SolutionManifest } from './solutionPackage';

export type SolutionMessageName = 'ImportSolutionAsync' | 'StageAndUpgradeAsync' | 'DeleteAndPromoteAsync';

/** What a succeeded operation does to the solutions table, applied in order when it completes. */
export type SolutionChange =
  | { kind: 'install'; uniqueName: string; manifest: SolutionManifest; parentUniqueName?: string }
  | { kind: 'promote'; holdingUniqueName: string; baseUniqueName: string };

export type SolutionOutcome =
  | { succeeded: true; changes: SolutionChange[] }
  | { succeeded: false; code: string; reason: string; unmet?: RequiredComponent[] };

export interface SolutionOperation {
  asyncOperationId: string;
  messageName: SolutionMessageName;
  /** Only imports (ImportSolutionAsync, StageAndUpgradeAsync) have an import job. */
  importJobId?: string;
  /** The unique name the operation is about (from solution.xml, or the UniqueName parameter). */
  solutionName: string;
  /** The manifest, when the package could be read. */
  manifest?: SolutionManifest;
  createdAt: number;
  startAt: number;
  endAt: number;
  outcome: SolutionOutcome;
  canceledAt?: number;
  /** Whether its changes have been applied to the solutions table. */
  applied: boolean;
  correlationId: string;
  ownerId: string;
  sequence: number;
}

export type OperationPhase = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export function operationPhase(op: SolutionOperation, t: number): OperationPhase {
  if (op.canceledAt !== undefined && t >= op.canceledAt) return 'canceled';
  if (t < op.startAt) return 'queued';
  if (t < op.endAt) return 'running';
  return op.outcome.succeeded ? 'succeeded' : 'failed';
}

export const isFinished = (phase: OperationPhase): boolean =>
  phase === 'succeeded' || phase === 'failed' || phase === 'canceled';

/** The instant the operation reached a final state, if it has by `t`. */
export function completedAt(op: SolutionOperation, t: number): number | undefined {
  const phase = operationPhase(op, t);
  if (phase === 'canceled') return op.canceledAt;
  return isFinished(phase) ? op.endAt : undefined;
}

const stateAndStatus: Record<OperationPhase, [number, number]> = {
  queued: [0, 0],
  running: [2, 20],
  succeeded: [3, 30],
  failed: [3, 31],
  canceled: [3, 32],
};

/** Dataverse writes whole seconds in these columns. */
export const isoSeconds = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The `errorcode` column holds the HRESULT as a signed 32-bit integer. */
export const signedErrorCode = (hex: string): number => Number.parseInt(hex, 16) | 0;

const operationNames: Record<SolutionMessageName, string> = {
  ImportSolutionAsync: 'ImportSolution',
  StageAndUpgradeAsync: 'StageAndUpgrade',
  DeleteAndPromoteAsync: 'DeleteAndPromote',
};

export interface OrganizationIdentity {
  /** Shared by every solution operation of the organization: the token that serialises them. */
  solutionOperationToken: string;
  businessUnitId: string;
  hostId: string;
}

const emptyGuid = '00000000-0000-0000-0000-000000000000';

/** The asyncoperation row at instant `t`, with the columns of asyncoperation-importsolutionasync-succeeded.response.json. */
export function asyncOperationRow(
  op: SolutionOperation,
  t: number,
  org: OrganizationIdentity,
): Record<string, unknown> {
  const phase = operationPhase(op, t);
  const [statecode, statuscode] = stateAndStatus[phase];
  const done = completedAt(op, t);
  const started = phase === 'queued' || (phase === 'canceled' && op.canceledAt! < op.startAt) ? undefined : op.startAt;
  const modified = done ?? started ?? op.createdAt;
  const failure = phase === 'failed' && !op.outcome.succeeded ? op.outcome : undefined;
  const createdon = isoSeconds(op.createdAt);
  return {
    statecode,
    asyncoperationid: op.asyncOperationId,
    timezoneruleversionnumber: 0,
    createdon,
    completedon: done === undefined ? null : isoSeconds(done),
    depth: 1,
    messagename: op.messageName,
    _ownerid_value: op.ownerId,
    name: operationNames[op.messageName],
    correlationid: op.correlationId,
    parentpluginexecutionid: emptyGuid,
    iswaitingforevent: false,
    correlationupdatedtime: createdon,
    hostid: started === undefined ? null : org.hostId,
    retainjobhistory: false,
    _modifiedby_value: op.ownerId,
    statuscode,
    operationtype: 54,
    modifiedon: isoSeconds(modified),
    sequence: op.sequence,
    _modifiedonbehalfby_value: null,
    retrycount: 0,
    executiontimespan: done !== undefined && started !== undefined ? Math.max(0, done - started) / 1000 : 0,
    _createdonbehalfby_value: null,
    _createdby_value: op.ownerId,
    startedon: started === undefined ? null : isoSeconds(started),
    _owningbusinessunit_value: org.businessUnitId,
    dependencytoken: `SolutionOperation_{${org.solutionOperationToken}}`,
    _owninguser_value: op.ownerId,
    subtype: 1,
    expanderstarttime: createdon,
    datablobid_name: null,
    postponeuntil: null,
    datablobid: null,
    workload: null,
    primaryentitytype: null,
    data: null,
    recurrencestarttime: null,
    _regardingobjectid_value: null,
    _workflowactivationid_value: null,
    _owningextensionid_value: null,
    requestid: null,
    utcconversiontimezonecode: null,
    callerorigin: null,
    rootexecutioncontext: null,
    recurrencepattern: null,
    friendlymessage: failure ? failure.reason : null,
    errorcode: failure ? signedErrorCode(failure.code) : null,
    workflowstagename: null,
    breadcrumbid: null,
    message: failure ? `${failure.reason} (Error code ${failure.code})` : null,
    _owningteam_value: null,
  };
}
