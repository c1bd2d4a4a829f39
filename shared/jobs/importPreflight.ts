/**
 * What an ImportSolution job does before anything is sent to Dataverse (issue 18): read the zip once, check the
 * deployment settings against it, ask the target what it has (one `solutions` query, the holding solution
 * included) and decide: skip, install, update, upgrade or holding, with the reason. Then the decision's steps
 * are sent one at a time (`sendImportStep`), each its own AsyncOperation.
 */
import type { DeploymentSettings, ImportSolutionOperation } from './asyncOperationMessage';
import { componentParametersOf } from './asyncOperationMessage';
import type { JobContext } from './jobContext';
import { InvalidRequestError } from '../errors';
import { BlobNotFoundError } from './solutionBlobs';
import { SolutionPackageError } from './solutionPackage';
import {
  decideImport,
  importDecisionOptionsSchema,
  type DataverseStep,
  type ImportDecision,
} from './release/importDecision';
import {
  describeUpgradeState,
  installedSolutionsQuery,
  readInstalledSolutions,
  targetStateOf,
  type InstalledSolutions,
} from './release/installedSolutions';
import { problemsText, type ReleaseProblem } from './release/releaseProblem';
import { checkDeploymentSettings, readDeploymentSettings } from './release/settingsCheck';
import { readSolutionContents, type SolutionContents } from './release/solutionContents';

/** Settings files are small JSON documents; 4 MiB is far above any real one. */
export const maxSettingsBytes = 4 * 1024 * 1024;

export type ExecutableDecision = Exclude<ImportDecision, { action: 'reject' }>;

/** What a job read once: the zip and the settings, so the first step does not read them again. */
export interface ImportInputs {
  zip: Uint8Array;
  settings?: DeploymentSettings;
}

export type Preflight =
  | { kind: 'rejected'; message: string; facts: PreflightFacts }
  | { kind: 'decided'; decision: ExecutableDecision; inputs: ImportInputs; facts: PreflightFacts };

/** Recorded on the job whatever the outcome. */
export interface PreflightFacts {
  solutionName?: string;
  solutionVersion?: string;
  decision?: string;
  decisionReason?: string;
  upgradeState?: string;
}

/** The mode a request asks for: explicit, or what the older flags meant. */
export function modeOf(op: ImportSolutionOperation): 'auto' | 'update' | 'upgrade' | 'holding' {
  return op.mode ?? (op.stageAndUpgrade ? 'upgrade' : op.holdingSolution ? 'holding' : 'auto');
}

/** Reads a blob, turning "not there" and "too large" into a refusal naming it. */
async function readInput(
  ctx: JobContext,
  ref: ImportSolutionOperation['solution'],
  maxBytes: number | undefined,
): Promise<Uint8Array | string> {
  try {
    return await ctx.blobs.read(ref, { ...(maxBytes !== undefined ? { maxBytes } : {}) });
  } catch (error) {
    if (error instanceof BlobNotFoundError || error instanceof SolutionPackageError) return error.message;
    throw error;
  }
}

/** The deployment settings of the request (inline or a blob), or the problems naming the file. */
export async function readImportSettings(
  ctx: JobContext,
  op: Pick<ImportSolutionOperation, 'settings' | 'settingsFile'>,
): Promise<{ ok: true; settings?: DeploymentSettings; file: string } | { ok: false; message: string }> {
  if (!op.settingsFile) return { ok: true, ...(op.settings ? { settings: op.settings } : {}), file: 'settings' };
  const file = `${op.settingsFile.container}/${op.settingsFile.name}`;
  const bytes = await readInput(ctx, op.settingsFile, maxSettingsBytes);
  if (typeof bytes === 'string') return { ok: false, message: bytes };
  const read = readDeploymentSettings(bytes, file);
  return read.ok ? { ok: true, settings: read.value, file } : { ok: false, message: problemsText(read.problems) };
}

/**
 * Settings problems of one solution. Required variables without a default must get a value on a first install;
 * once the solution is installed the target's values stand (they are not looked up).
 */
export function settingsProblems(
  settings: DeploymentSettings | undefined,
  contents: SolutionContents,
  file: string,
  installed: boolean,
): ReleaseProblem[] {
  if (!settings) return [];
  const inTarget = new Set(installed ? contents.environmentVariables.map((v) => v.schemaName) : []);
  return checkDeploymentSettings(settings, contents, file, inTarget);
}

/** One `solutions` query for these unique names and their holding solutions. */
export async function queryInstalled(ctx: JobContext, names: readonly string[]): Promise<InstalledSolutions> {
  const read = readInstalledSolutions(await ctx.api.querySolutions(installedSolutionsQuery(names)));
  if (!read.ok) throw new Error(problemsText(read.problems));
  return read.value;
}

export async function preflightImport(ctx: JobContext, op: ImportSolutionOperation): Promise<Preflight> {
  const file = op.solution.name;
  const zip = await readInput(ctx, op.solution, ctx.limits?.maxZipBytes);
  if (typeof zip === 'string') return { kind: 'rejected', message: zip, facts: {} };
  const read = readSolutionContents(zip, file, ctx.limits);
  if (!read.ok) return { kind: 'rejected', message: problemsText(read.problems), facts: {} };
  const contents = read.value;
  const facts: PreflightFacts = { solutionName: contents.uniqueName, solutionVersion: contents.versionText };
  const settings = await readImportSettings(ctx, op);
  if (!settings.ok) return { kind: 'rejected', message: settings.message, facts };
  // Unknown items and bad values need no target: refused before any request.
  const wrongSettings = settingsProblems(settings.settings, contents, settings.file, true);
  if (wrongSettings.length > 0) return { kind: 'rejected', message: problemsText(wrongSettings), facts };

  const target = targetStateOf(await queryInstalled(ctx, [contents.uniqueName]), contents.uniqueName);
  if (target.upgrade.kind !== 'none') facts.upgradeState = describeUpgradeState(target);
  const missingValues = target.installed ? [] : settingsProblems(settings.settings, contents, settings.file, false);
  if (missingValues.length > 0) return { kind: 'rejected', message: problemsText(missingValues), facts };

  const options = importDecisionOptionsSchema.parse({
    mode: modeOf(op),
    force: op.force,
    finishUpgrade: op.finishUpgrade,
  });
  const decision = decideImport(contents, target, options);
  facts.decision = decision.action;
  facts.decisionReason = decision.reason;
  if (decision.action === 'reject') return { kind: 'rejected', message: decision.reason, facts };
  return {
    kind: 'decided',
    decision,
    inputs: { zip, ...(settings.settings ? { settings: settings.settings } : {}) },
    facts,
  };
}

/** Sends one step of a decision. `inputs` when the job has read them already (its first step). */
export async function sendImportStep(
  ctx: JobContext,
  op: ImportSolutionOperation,
  step: DataverseStep,
  inputs?: ImportInputs,
): Promise<{ asyncOperationId: string; importJobKey?: string }> {
  if (step.message === 'DeleteAndPromoteAsync') return ctx.api.submitDeleteAndPromote(step.uniqueName);
  let read = inputs;
  if (!read) {
    const zip = await ctx.blobs.read(op.solution, { maxBytes: ctx.limits?.maxZipBytes });
    const settings = await readImportSettings(ctx, op);
    if (!settings.ok) throw new InvalidRequestError('InvalidSettings', settings.message);
    read = { zip, ...(settings.settings ? { settings: settings.settings } : {}) };
  }
  const parameters = {
    customizationFile: read.zip,
    overwriteUnmanagedCustomizations: op.overwriteUnmanagedCustomizations,
    publishWorkflows: op.publishWorkflows,
    holdingSolution: step.message === 'ImportSolutionAsync' && step.holdingSolution,
    convertToManaged: op.convertToManaged,
    skipProductUpdateDependencies: op.skipProductUpdateDependencies,
    componentParameters: componentParametersOf(read.settings),
  };
  return step.message === 'StageAndUpgradeAsync'
    ? ctx.api.submitStageAndUpgrade(parameters)
    : ctx.api.submitImport(parameters);
}
