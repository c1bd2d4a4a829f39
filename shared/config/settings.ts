import { z } from 'zod';
import { dataverseSection } from './sections/dataverse';
import { jobsSection } from './sections/jobs';
import { loadsSection } from './sections/loads';
import { loggingSection } from './sections/logging';
import { storageSection } from './sections/storage';
import { telemetrySection } from './sections/telemetry';
import type { SettingDefinition } from './settingTypes';
import { ConfigurationError } from '../errors';

export { SecretValue } from './secretValue';
export type { DataverseAuthMode, DataverseAuthSettings, DataverseSettings } from './sections/dataverse';
export type { DataverseIdentitySettings } from './sections/dataverseIdentities';
export { defaultIdentityName } from './sections/dataverseIdentities';
export type { JobsSettings } from './sections/jobs';
export type { LoadsSettings } from './sections/loads';
export type { LoggingSettings } from './sections/logging';
export type { StorageConnectionSettings, StorageSettings } from './sections/storage';
export type { TelemetryExport, TelemetrySettings } from './sections/telemetry';

/**
 * Every app setting, grouped by the part of the app that uses it. To add settings, write a section
 * with `defineSection` (see sections/) and add it here; README.md (Configuration, and the Deploy section's table) must list each new setting
 * (a test checks it).
 */
export const settingsSections = {
  dataverse: dataverseSection,
  storage: storageSection,
  loads: loadsSection,
  jobs: jobsSection,
  logging: loggingSection,
  telemetry: telemetrySection,
} as const;

type Sections = typeof settingsSections;
export type Settings = { readonly [K in keyof Sections]: z.output<Sections[K]['schema']> };

type Environment = Record<string, string | undefined>;

/** Unset and blank are the same thing for an app setting (portal and Bicep often leave settings empty). */
function presentValues(env: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries((env ?? {}) as Environment)) {
    if (typeof value === 'string' && value.trim() !== '') values[name] = value.trim();
  }
  return values;
}

/** The one schema: the flat environment in, the typed settings out; each section reads the same variables. */
export const settingsSchema = z.preprocess(
  (env) => {
    const values = presentValues(env);
    return Object.fromEntries(Object.keys(settingsSections).map((section) => [section, values]));
  },
  z.object(
    Object.fromEntries(Object.entries(settingsSections).map(([name, section]) => [name, section.schema])) as {
      [K in keyof Sections]: Sections[K]['schema'];
    },
  ),
);

export interface SettingProblem {
  setting: string;
  message: string;
}

/** The settings are missing or malformed. The message names each setting and what it expects, never a value. */
export class SettingsError extends ConfigurationError {
  override readonly name = 'SettingsError';
  constructor(readonly problems: readonly SettingProblem[]) {
    super('InvalidSettings', `Invalid app settings:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
  }
}

const definitionsByName = new Map<string, SettingDefinition>(
  Object.values(settingsSections).flatMap((section) => Object.entries(section.definitions)),
);

function problemOf(issue: z.core.$ZodIssue): SettingProblem {
  const name = String(issue.path[1] ?? issue.path[0] ?? 'settings');
  // Our own cross-setting messages are written without values; zod's are replaced by the setting's expectation.
  if (issue.code === 'custom' && issue.params?.['settingProblem'] === true)
    return { setting: name, message: issue.message };
  const definition = definitionsByName.get(name);
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const expected = definition?.expected ?? 'a valid value';
  return { setting: name, message: `${name} is ${missing ? 'missing' : 'invalid'}: expected ${expected}` };
}

/** Parses and validates every setting; throws `SettingsError` listing all problems at once. */
export function loadSettings(env: Environment = process.env): Settings {
  const result = settingsSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(problemOf);
  const unique = problems.filter(
    (p, i) => problems.findIndex((q) => q.setting === p.setting && q.message === p.message) === i,
  );
  throw new SettingsError(unique);
}

let memoised: Settings | undefined;

/** The settings of this process, parsed from process.env on first use (function app startup). */
export function getSettings(): Settings {
  memoised ??= loadSettings(process.env);
  return memoised;
}

/** For tests and `npm start`, which change process.env after import. */
export function forgetSettings(): void {
  memoised = undefined;
}

export interface SettingDescription {
  name: string;
  section: string;
  description: string;
  expected: string;
  secret: boolean;
}

/** Every setting with its description, in schema order (docs and the docs test read this). */
export function describeSettings(): SettingDescription[] {
  return Object.entries(settingsSections).flatMap(([section, { definitions }]) =>
    Object.entries(definitions as Record<string, SettingDefinition>).map(([name, d]) => ({
      name,
      section,
      description: d.description,
      expected: d.expected,
      secret: d.secret ?? false,
    })),
  );
}
