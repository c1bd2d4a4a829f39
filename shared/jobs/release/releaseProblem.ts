/**
 * What the release core reports instead of throwing: each problem names the file and the item it is about, and
 * carries a stable code the wiring maps onto the app's error family. Checks collect every problem they find, so
 * a user fixes a settings file or a release in one round.
 */

export const releaseProblemCodes = [
  /** The bytes are not a zip, or the zip is damaged, too large or a zip bomb. */
  'SolutionZipUnreadable',
  /** The zip has no solution.xml at its root. */
  'NoSolutionXml',
  /** solution.xml, customizations.xml or an environment variable definition is not well-formed or lacks an element. */
  'BadSolutionXml',
  /** The version in solution.xml is not major.minor.build.revision. */
  'BadSolutionVersion',
  /** The deployment settings file is not JSON, or not the shape `pac solution create-settings` writes. */
  'SettingsNotJson',
  'SettingsBadShape',
  /** The settings name a connection reference or environment variable the solution does not have. */
  'UnknownConnectionReference',
  'UnknownEnvironmentVariable',
  /** A value does not have its environment variable's type, or a required variable gets no value. */
  'EnvironmentVariableBadValue',
  'EnvironmentVariableMissingValue',
  /** The same item appears twice in one settings file. */
  'SettingsDuplicateItem',
  /** Two solutions of one release have the same unique name. */
  'DuplicateSolution',
  /** Solutions of one release require each other in a circle. */
  'DependencyCycle',
  /** A required solution is neither in the release nor installed (at the version required). */
  'MissingDependency',
  /** The import decision for a solution of a release is a refusal (managed mode mismatch, upgrade pending...). */
  'ImportRefused',
  /** A release request (JSON or options) that cannot be read. */
  'BadReleaseRequest',
  /** A `solutions` query answer that is not the shape the Web API returns. */
  'BadSolutionsResponse',
] as const;

export type ReleaseProblemCode = (typeof releaseProblemCodes)[number];

export interface ReleaseProblem {
  code: ReleaseProblemCode;
  /** The file the problem is in (zip, settings file, release entry), when there is one. */
  file?: string;
  /** The item named: a solution unique name, connection reference logical name, variable schema name, element. */
  item?: string;
  /** One sentence a user can act on; names the file and the item. */
  message: string;
}

export type ReleaseResult<T> = { ok: true; value: T } | { ok: false; problems: ReleaseProblem[] };

export const problem = (code: ReleaseProblemCode, message: string, file?: string, item?: string): ReleaseProblem => ({
  code,
  message,
  ...(file !== undefined ? { file } : {}),
  ...(item !== undefined ? { item } : {}),
});

/** All problems as one reason, one per line, for a job's `message`. */
export const problemsText = (problems: readonly ReleaseProblem[]): string => problems.map((p) => p.message).join('\n');
