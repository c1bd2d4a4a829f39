/**
 * Point 1 of issue 18: what to do with one solution zip given what the target has, decided before anything is
 * sent, with a sentence saying why. The decision lists the Dataverse messages to send, in order, so the wiring
 * only executes it: a pending upgrade finished first (DeleteAndPromoteAsync) when asked, then the import
 * (ImportSolutionAsync, as a holding solution or not, or StageAndUpgradeAsync), or nothing at all.
 */
import { z } from 'zod';
import { compareVersions, formatVersion, type SolutionVersion } from './solutionVersion';
import { holdingNameOf, type TargetSolutionState } from './installedSolutions';
import type { SolutionContents } from './solutionContents';

export const importModes = ['auto', 'update', 'upgrade', 'holding'] as const;
export type ImportMode = (typeof importModes)[number];

/** The options a job or release entry gives (zod: they come from request bodies, queue messages, blob metadata). */
export const importDecisionOptionsSchema = z.object({
  /** auto: decide from versions and mode; update / upgrade / holding pin the kind of import. */
  mode: z.enum(importModes).default('auto'),
  /** Import even when the same or a newer version is installed. */
  force: z.boolean().default(false),
  /** Finish a half-done upgrade (DeleteAndPromote) before importing. */
  finishUpgrade: z.boolean().default(false),
});
export type ImportDecisionOptions = z.infer<typeof importDecisionOptionsSchema>;

export type ImportAction = 'skip' | 'install' | 'update' | 'upgrade' | 'holding';

/** One Dataverse message of a decision (zod: the steps are stored on the job and read back). */
export const dataverseStepSchema = z.discriminatedUnion('message', [
  z.object({ message: z.literal('DeleteAndPromoteAsync'), uniqueName: z.string() }),
  z.object({ message: z.literal('ImportSolutionAsync'), holdingSolution: z.boolean() }),
  z.object({ message: z.literal('StageAndUpgradeAsync') }),
]);
export type DataverseStep = z.infer<typeof dataverseStepSchema>;

/** Why a zip is refused before anything is sent (the names of the Dataverse errors it would otherwise meet). */
export type ImportRefusal =
  /** ImportSolutionManagedToUnmanagedMismatch (0x80048040) / ImportSolutionUnmanagedToManagedMismatch (0x80048041). */
  | 'ManagedModeMismatch'
  /** An upgrade or holding import of an unmanaged package: only managed solutions are upgraded. */
  | 'UpgradeNeedsManaged'
  /** A holding solution `<name>_Upgrade` is installed and finishUpgrade was not asked. */
  | 'UpgradePending';

export type ImportDecision =
  | {
      action: ImportAction;
      reason: string;
      /** Messages to send, in order (empty for a skip without a pending upgrade to finish). */
      steps: DataverseStep[];
      /** The version installed before (after finishing a pending upgrade, the promoted one). */
      installedVersion?: string;
      packageVersion: string;
    }
  | { action: 'reject'; refusal: ImportRefusal; reason: string; installedVersion?: string; packageVersion: string };

type PackageFacts = Pick<SolutionContents, 'uniqueName' | 'version' | 'versionText' | 'managed'>;

const mode = (managed: boolean): string => (managed ? 'managed' : 'unmanaged');

function describeComparison(pkg: PackageFacts, installed: SolutionVersion, order: number): string {
  const relation = order > 0 ? 'newer than' : order === 0 ? 'the same version as' : 'older than';
  return `${pkg.uniqueName} ${pkg.versionText} is ${relation} the installed ${formatVersion(installed)}`;
}

export function decideImport(
  pkg: PackageFacts,
  target: TargetSolutionState,
  options: ImportDecisionOptions,
): ImportDecision {
  const packageVersion = pkg.versionText;
  const steps: DataverseStep[] = [];
  let installed = target.installed && { version: target.installed.version, managed: target.installed.managed };
  let finished = '';

  if (target.upgrade.kind !== 'none') {
    const holding = target.upgrade.holding;
    if (!options.finishUpgrade) {
      return {
        action: 'reject',
        refusal: 'UpgradePending',
        reason:
          `The holding solution ${holding.uniqueName} ${holding.versionText} is installed: an earlier upgrade of ${target.uniqueName} was not finished. ` +
          `Import again with finishUpgrade: true to promote it first (DeleteAndPromote), or delete ${holding.uniqueName}.`,
        ...(target.installed ? { installedVersion: target.installed.versionText } : {}),
        packageVersion,
      };
    }
    steps.push({ message: 'DeleteAndPromoteAsync', uniqueName: target.uniqueName });
    installed = { version: holding.version, managed: holding.managed };
    finished = `The pending upgrade to ${holding.versionText} (${holdingNameOf(target.uniqueName)}) is finished first with DeleteAndPromote. `;
  }
  const installedVersion = installed ? formatVersion(installed.version) : undefined;
  const facts = { ...(installedVersion ? { installedVersion } : {}), packageVersion };

  if (!installed) {
    const note =
      options.mode === 'upgrade' || options.mode === 'holding'
        ? ` (mode ${options.mode} asks for an upgrade, but StageAndUpgrade and holding imports need the solution installed, so a first install is a plain import)`
        : '';
    return {
      action: 'install',
      reason: `${finished}${pkg.uniqueName} is not installed: install ${pkg.versionText} (${mode(pkg.managed)})${note}.`,
      steps: [...steps, { message: 'ImportSolutionAsync', holdingSolution: false }],
      ...facts,
    };
  }
  if (installed.managed !== pkg.managed) {
    return {
      action: 'reject',
      refusal: 'ManagedModeMismatch',
      reason:
        `${pkg.uniqueName} is installed as a ${mode(installed.managed)} solution and the package is ${mode(pkg.managed)}: ` +
        `Dataverse only updates a solution in the same mode. Uninstall it first, or import the ${mode(installed.managed)} package.`,
      ...facts,
    };
  }
  const order = compareVersions(pkg.version, installed.version);
  const comparison = describeComparison(pkg, installed.version, order);
  if (order <= 0 && !options.force) {
    return {
      action: 'skip',
      reason: `${finished}${comparison}: nothing to import (force: true imports it anyway).`,
      steps,
      ...facts,
    };
  }
  const forced = order <= 0 ? ' (forced)' : '';
  if ((options.mode === 'upgrade' || options.mode === 'holding') && !pkg.managed) {
    return {
      action: 'reject',
      refusal: 'UpgradeNeedsManaged',
      reason: `${pkg.uniqueName} ${pkg.versionText} is unmanaged: only a managed solution can be upgraded (mode ${options.mode}); use mode auto or update.`,
      ...facts,
    };
  }
  if (options.mode === 'update' || !pkg.managed || (options.mode === 'auto' && order <= 0)) {
    const why = !pkg.managed
      ? 'an unmanaged solution is updated in place'
      : options.mode === 'update'
        ? 'mode update: components the new version no longer has are kept'
        : 'the same or an older version is re-imported as an update';
    return {
      action: 'update',
      reason: `${finished}${comparison}${forced}: update (${why}).`,
      steps: [...steps, { message: 'ImportSolutionAsync', holdingSolution: false }],
      ...facts,
    };
  }
  if (options.mode === 'holding') {
    return {
      action: 'holding',
      reason: `${finished}${comparison}${forced}: import as the holding solution ${holdingNameOf(pkg.uniqueName)}; DeleteAndPromote applies the upgrade later.`,
      steps: [...steps, { message: 'ImportSolutionAsync', holdingSolution: true }],
      ...facts,
    };
  }
  return {
    action: 'upgrade',
    reason: `${finished}${comparison}${forced}: upgrade with StageAndUpgrade (components the new version no longer has are removed).`,
    steps: [...steps, { message: 'StageAndUpgradeAsync' }],
    ...facts,
  };
}
