/**
 * The target's side of a release decision: the `solutions` query that finds a solution, its holding solution
 * (`<name>_Upgrade`) and the solutions it depends on, the zod check of the answer, and what that answer says
 * (installed version and mode, a half-done upgrade). The wiring sends the query; everything here is pure.
 */
import { z } from 'zod';
import { parseInstalledVersion, type SolutionVersion } from './solutionVersion';
import { problem, type ReleaseResult } from './releaseProblem';

export const holdingSuffix = '_Upgrade';
export const holdingNameOf = (uniqueName: string): string => `${uniqueName}${holdingSuffix}`;

export const solutionColumns = [
  'solutionid',
  'uniquename',
  'friendlyname',
  'version',
  'ismanaged',
  '_parentsolutionid_value',
  'installedon',
] as const;

/** OData string literal: single quotes doubled. */
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/**
 * The `solutions` query (relative to the Web API base) for the given unique names and their holding solutions.
 * Unique names compare case-insensitively in Dataverse, as here.
 */
export function installedSolutionsQuery(uniqueNames: readonly string[]): string {
  const names = new Map<string, string>();
  for (const name of uniqueNames) {
    for (const n of [name, holdingNameOf(name)]) names.set(n.toLowerCase(), n);
  }
  const filter = [...names.values()].map((n) => `uniquename eq ${literal(n)}`).join(' or ');
  return `solutions?$select=${solutionColumns.join(',')}&$filter=${encodeURIComponent(filter)}`;
}

const solutionRowSchema = z.looseObject({
  solutionid: z.string(),
  uniquename: z.string().min(1),
  friendlyname: z.string().nullish(),
  version: z.string().refine((v) => parseInstalledVersion(v) !== undefined, { message: 'not a solution version' }),
  ismanaged: z.boolean(),
  _parentsolutionid_value: z.string().nullish(),
  installedon: z.string().nullish(),
});
const solutionsResponseSchema = z.looseObject({ value: z.array(solutionRowSchema) });

export interface InstalledSolution {
  solutionId: string;
  uniqueName: string;
  versionText: string;
  version: SolutionVersion;
  managed: boolean;
  /** For a holding solution: the base solution's id. */
  parentSolutionId?: string;
  installedOn?: string;
}

/** Installed solutions by lower-cased unique name. */
export type InstalledSolutions = ReadonlyMap<string, InstalledSolution>;

/** Checks and indexes the body of a `solutions` query answer (several pages may be concatenated first). */
export function readInstalledSolutions(body: unknown): ReleaseResult<InstalledSolutions> {
  const parsed = solutionsResponseSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      problems: [
        problem(
          'BadSolutionsResponse',
          `The solutions query answer is not what the Web API returns: ${issue.path.map(String).join('.') || '(body)'}: ${issue.message}.`,
        ),
      ],
    };
  }
  const installed = new Map<string, InstalledSolution>();
  for (const row of parsed.data.value) {
    installed.set(row.uniquename.toLowerCase(), {
      solutionId: row.solutionid,
      uniqueName: row.uniquename,
      versionText: row.version,
      version: parseInstalledVersion(row.version)!,
      managed: row.ismanaged,
      ...(row._parentsolutionid_value ? { parentSolutionId: row._parentsolutionid_value } : {}),
      ...(row.installedon ? { installedOn: row.installedon } : {}),
    });
  }
  return { ok: true, value: installed };
}

export type UpgradeState =
  /** No holding solution. */
  | { kind: 'none' }
  /** `<name>_Upgrade` and `<name>` both installed: an upgrade staged and never promoted (or promote failed). */
  | { kind: 'halfDone'; base: InstalledSolution; holding: InstalledSolution }
  /** A holding solution without its base: DeleteAndPromote would make it the base. */
  | { kind: 'holdingWithoutBase'; holding: InstalledSolution };

export interface TargetSolutionState {
  uniqueName: string;
  installed?: InstalledSolution;
  upgrade: UpgradeState;
}

/** What the target has of one solution: the base row and whether an upgrade is left half done. */
export function targetStateOf(installed: InstalledSolutions, uniqueName: string): TargetSolutionState {
  const base = installed.get(uniqueName.toLowerCase());
  const holding = installed.get(holdingNameOf(uniqueName).toLowerCase());
  const upgrade: UpgradeState = !holding
    ? { kind: 'none' }
    : base
      ? { kind: 'halfDone', base, holding }
      : { kind: 'holdingWithoutBase', holding };
  return { uniqueName, ...(base ? { installed: base } : {}), upgrade };
}

/** A sentence for the job and `GET /api/solutions/{uniqueName}`. */
export function describeUpgradeState(state: TargetSolutionState): string {
  const u = state.upgrade;
  switch (u.kind) {
    case 'none':
      return state.installed
        ? `${state.installed.uniqueName} ${state.installed.versionText} is installed (${state.installed.managed ? 'managed' : 'unmanaged'}); no upgrade is pending.`
        : `${state.uniqueName} is not installed.`;
    case 'halfDone':
      return `An upgrade of ${u.base.uniqueName} is half done: the holding solution ${u.holding.uniqueName} ${u.holding.versionText} is installed next to ${u.base.uniqueName} ${u.base.versionText}. Finish it with DeleteAndPromote (finishUpgrade: true) or delete ${u.holding.uniqueName}.`;
    case 'holdingWithoutBase':
      return `The holding solution ${u.holding.uniqueName} ${u.holding.versionText} is installed without ${state.uniqueName}; DeleteAndPromote would make it ${state.uniqueName}.`;
  }
}
