/**
 * The organization's solution state: the operations submitted, the installed solutions, and the one-at-a-time
 * rule. Outcomes are decided when an operation is accepted (only one runs at a time, so nothing can change the
 * solutions table in between); its changes are applied when a read finds it completed (`settle`).
 */
import { randomUUID } from 'node:crypto';
import {
  readSolutionPackage,
  unmetRequirements,
  missingDependenciesMessage,
  importErrorCodes,
  managedToUnmanagedMismatchMessage,
  unmanagedToManagedMismatchMessage,
  type SolutionManifest,
} from './solutionPackage';
import {
  operationPhase,
  isFinished,
  isoSeconds,
  type SolutionChange,
  type SolutionOperation,
  type SolutionOutcome,
} from './solutionOperation';
import type { SolutionActionRequest } from './solutionActions';

/** ObjectDoesNotExist. */
export const objectDoesNotExistCode = '0x80040217';

export interface SolutionRecord {
  solutionid: string;
  uniquename: string;
  friendlyname: string;
  version: string;
  ismanaged: boolean;
  isvisible: boolean;
  _parentsolutionid_value: string | null;
  publisheruniquename: string;
  /** The publisher row's id (one per publisher unique name). */
  publisherid: string;
  installedon: number;
  createdon: number;
  modifiedon: number;
}

export interface StoreTiming {
  queuedMs: number;
  runMs: number;
}

/** The solutions every organization starts with (invisible system solutions and the Default solution). */
const builtIn: Array<[string, string, boolean]> = [
  ['Default', 'Default Solution', true],
  ['Active', 'Active Solution', false],
  ['Basic', 'Basic Solution', false],
  ['System', 'System Solution', false],
];

export const upgradeSuffix = '_Upgrade';

export function createSolutionStore(options: { timing: StoreTiming; now: () => number }) {
  const operations = new Map<string, SolutionOperation>();
  const importJobs = new Map<string, SolutionOperation>();
  /** Operations whose end has not been applied yet, in submission order (so reads do not walk the history). */
  const pending = new Set<SolutionOperation>();
  const solutions = new Map<string, SolutionRecord>(); // by lower-cased unique name
  const publishers = new Map<string, string>(); // lower-cased publisher unique name → publisherid
  const publisherIdOf = (uniqueName: string): string => {
    const key = uniqueName.toLowerCase();
    let id = publishers.get(key);
    if (!id) publishers.set(key, (id = randomUUID()));
    return id;
  };
  let sequence = 0;

  const seed = (): void => {
    const t = options.now();
    for (const [uniquename, friendlyname, isvisible] of builtIn) {
      solutions.set(uniquename.toLowerCase(), {
        solutionid: randomUUID(),
        uniquename,
        friendlyname,
        version: '1.0',
        ismanaged: false,
        isvisible,
        _parentsolutionid_value: null,
        publisheruniquename: 'MicrosoftCorporation',
        publisherid: publisherIdOf('MicrosoftCorporation'),
        installedon: t,
        createdon: t,
        modifiedon: t,
      });
    }
  };
  seed();

  const install = (uniqueName: string, manifest: SolutionManifest, at: number, parentUniqueName?: string): void => {
    const key = uniqueName.toLowerCase();
    const existing = solutions.get(key);
    const parent = parentUniqueName ? solutions.get(parentUniqueName.toLowerCase()) : undefined;
    solutions.set(key, {
      solutionid: existing?.solutionid ?? randomUUID(),
      uniquename: uniqueName,
      friendlyname: manifest.friendlyName,
      version: manifest.version,
      ismanaged: manifest.managed,
      isvisible: true,
      _parentsolutionid_value: parent?.solutionid ?? null,
      publisheruniquename: manifest.publisherUniqueName,
      publisherid: publisherIdOf(manifest.publisherUniqueName),
      installedon: existing?.installedon ?? at,
      createdon: existing?.createdon ?? at,
      modifiedon: at,
    });
  };

  const applyChange = (change: SolutionChange, at: number): void => {
    if (change.kind === 'install') {
      install(change.uniqueName, change.manifest, at, change.parentUniqueName);
      return;
    }
    // DeleteAndPromote: the base solution is removed and the holding solution takes its name.
    const holding = solutions.get(change.holdingUniqueName.toLowerCase());
    if (!holding) return;
    solutions.delete(change.holdingUniqueName.toLowerCase());
    solutions.set(change.baseUniqueName.toLowerCase(), {
      ...holding,
      uniquename: change.baseUniqueName,
      _parentsolutionid_value: null,
      modifiedon: at,
    });
  };

  /** Applies the changes of every operation that has succeeded by now, in the order they completed. */
  const settle = (): void => {
    const t = options.now();
    for (const op of pending) {
      const phase = operationPhase(op, t);
      if (!isFinished(phase)) continue;
      op.applied = true;
      pending.delete(op);
      if (phase === 'succeeded' && op.outcome.succeeded)
        op.outcome.changes.forEach((change) => applyChange(change, op.endAt));
    }
  };

  /** The operation queued or running now, if any (the organization's solution-operation lock). */
  const activeOperation = (): SolutionOperation | undefined => {
    const t = options.now();
    for (const op of pending) if (!isFinished(operationPhase(op, t))) return op;
    return undefined;
  };

  const installedVersions = (): Map<string, string> =>
    new Map([...solutions.values()].map((s) => [s.uniquename.toLowerCase(), s.version]));

  const fail = (code: string, reason: string): SolutionOutcome => ({ succeeded: false, code, reason });

  function importOutcome(request: Extract<SolutionActionRequest, { customizationFile: Uint8Array }>): {
    manifest?: SolutionManifest;
    outcome: SolutionOutcome;
  } {
    const pkg = readSolutionPackage(request.customizationFile);
    if (!pkg.ok) return { outcome: fail(pkg.failure.code, pkg.failure.message) };
    const manifest = pkg.manifest;
    const unmet = unmetRequirements(manifest, installedVersions());
    if (unmet.length > 0) {
      return {
        manifest,
        outcome: {
          succeeded: false,
          code: importErrorCodes.missingDependencies,
          reason: missingDependenciesMessage(manifest, unmet),
          unmet,
        },
      };
    }
    const stageAndUpgrade = request.messageName === 'StageAndUpgradeAsync';
    const holding = stageAndUpgrade || request.parameters.HoldingSolution === true;
    const base = solutions.get(manifest.uniqueName.toLowerCase());
    const holdingName = `${manifest.uniqueName}${upgradeSuffix}`;
    // StageAndUpgrade reports its holding-import failures behind this prefix (microsoft/powerplatform-build-tools#1078).
    const stagePrefix = stageAndUpgrade ? 'ImportAsHolding failed with exception :' : '';
    if (base && base.ismanaged !== manifest.managed) {
      return {
        manifest,
        outcome: base.ismanaged
          ? fail(importErrorCodes.unmanagedToManagedMismatch, unmanagedToManagedMismatchMessage)
          : fail(importErrorCodes.managedToUnmanagedMismatch, managedToUnmanagedMismatchMessage),
      };
    }
    if (solutions.has(holdingName.toLowerCase())) {
      // An upgrade left half done blocks every import of the solution until it is promoted or deleted
      // (observed: microsoft/coe-starter-kit#1472, #7148 for holding imports, #8005 for updates).
      return {
        manifest,
        outcome: fail(
          importErrorCodes.holdingSolutionExists,
          holding
            ? `${stagePrefix}Solution manifest import: FAILURE: Holding solution ${holdingName} already exists.`
            : `Solution manifest import: FAILURE: Holding solution ${holdingName} exists. Cannot update solution.`,
        ),
      };
    }
    if (!holding)
      return {
        manifest,
        outcome: { succeeded: true, changes: [{ kind: 'install', uniqueName: manifest.uniqueName, manifest }] },
      };
    if (!manifest.managed) {
      return {
        manifest,
        outcome: fail(
          importErrorCodes.solutionError,
          `An error occurred while importing a Solution. ${manifest.uniqueName} is unmanaged: only a managed solution can be staged for upgrade as a holding solution.`,
        ),
      };
    }
    if (!base) {
      // A holding solution needs its base, and StageAndUpgrade starts with a holding import, so it fails on a
      // first install too (observed: microsoft/powerplatform-build-tools#1078).
      return {
        manifest,
        outcome: fail(
          importErrorCodes.solutionError,
          `${stagePrefix}Solution manifest import: FAILURE: Cannot create a holding solution for missing base ${manifest.uniqueName}.`,
        ),
      };
    }
    const changes: SolutionChange[] = [
      { kind: 'install', uniqueName: holdingName, manifest, parentUniqueName: base.uniquename },
    ];
    if (request.messageName === 'StageAndUpgradeAsync')
      changes.push({ kind: 'promote', holdingUniqueName: holdingName, baseUniqueName: base.uniquename });
    return { manifest, outcome: { succeeded: true, changes } };
  }

  function deleteAndPromoteOutcome(uniqueName: string): SolutionOutcome {
    const base = solutions.get(uniqueName.toLowerCase());
    const holding = solutions.get(`${uniqueName}${upgradeSuffix}`.toLowerCase());
    if (!holding) {
      return fail(
        objectDoesNotExistCode,
        `DeleteAndPromote failed: no holding solution ${uniqueName}${upgradeSuffix} is installed to promote over ${uniqueName}. Import the new version with HoldingSolution first.`,
      );
    }
    return {
      succeeded: true,
      changes: [
        { kind: 'promote', holdingUniqueName: holding.uniquename, baseUniqueName: base?.uniquename ?? uniqueName },
      ],
    };
  }

  /** Accepts an operation (the caller has checked the lock) and returns it. */
  function submit(request: SolutionActionRequest, ownerId: string): SolutionOperation {
    settle();
    const t = options.now();
    const decided =
      request.messageName === 'DeleteAndPromoteAsync'
        ? {
            solutionName: request.parameters.UniqueName,
            outcome: deleteAndPromoteOutcome(request.parameters.UniqueName),
          }
        : (() => {
            const { manifest, outcome } = importOutcome(request);
            return { solutionName: manifest?.uniqueName ?? '', manifest, outcome };
          })();
    const op: SolutionOperation = {
      asyncOperationId: randomUUID(),
      messageName: request.messageName,
      importJobId:
        request.messageName === 'DeleteAndPromoteAsync'
          ? undefined
          : (request.parameters.ImportJobId?.toLowerCase() ?? randomUUID()),
      solutionName: decided.solutionName,
      manifest: 'manifest' in decided ? decided.manifest : undefined,
      createdAt: t,
      startAt: t + options.timing.queuedMs,
      endAt: t + options.timing.queuedMs + options.timing.runMs,
      outcome: decided.outcome,
      applied: false,
      correlationId: randomUUID(),
      ownerId,
      sequence: ++sequence,
    };
    operations.set(op.asyncOperationId, op);
    pending.add(op);
    if (op.importJobId) importJobs.set(op.importJobId, op);
    return op;
  }

  return {
    operations,
    importJobs,
    solutions,
    settle,
    activeOperation,
    submit,
    /** Marks a queued or running operation canceled from now; its changes are never applied. */
    cancel(op: SolutionOperation): void {
      op.canceledAt = options.now();
    },
    reset(): void {
      operations.clear();
      importJobs.clear();
      pending.clear();
      solutions.clear();
      publishers.clear();
      sequence = 0;
      seed();
    },
  };
}

export type SolutionStore = ReturnType<typeof createSolutionStore>;

/** The solutions row as the Web API returns it. */
export function solutionRow(s: SolutionRecord): Record<string, unknown> {
  return {
    solutionid: s.solutionid,
    uniquename: s.uniquename,
    friendlyname: s.friendlyname,
    version: s.version,
    ismanaged: s.ismanaged,
    isvisible: s.isvisible,
    _parentsolutionid_value: s._parentsolutionid_value,
    _publisherid_value: s.publisherid,
    installedon: isoSeconds(s.installedon),
    createdon: isoSeconds(s.createdon),
    modifiedon: isoSeconds(s.modifiedon),
    updatedon: isoSeconds(s.modifiedon),
    solutiontype: 0,
    isapimanaged: false,
    description: null,
    solutionpackageversion: null,
  };
}
