/**
 * The settings function registrations need at module load (queue names, containers, schedules), parsed with
 * the sections' own schemas, so a registration never reads process.env itself and the defaults live in one
 * place. Only the loads and jobs sections are parsed: indexing the functions must not depend on Dataverse or
 * storage credentials being present.
 */
import { loadsSection, type LoadsSettings } from './sections/loads';
import { jobsSection, type JobsSettings } from './sections/jobs';
import { SettingsError } from './settings';

export interface TriggerSettings {
  loads: LoadsSettings;
  jobs: JobsSettings;
}

export function triggerSettings(env: Record<string, string | undefined> = process.env): TriggerSettings {
  const values = Object.fromEntries(
    Object.entries(env)
      .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '')
      .map(([k, v]) => [k, v.trim()]),
  );
  const loads = loadsSection.schema.safeParse(values);
  const jobs = jobsSection.schema.safeParse(values);
  const issues = [...(loads.success ? [] : loads.error.issues), ...(jobs.success ? [] : jobs.error.issues)];
  if (!loads.success || !jobs.success) {
    throw new SettingsError(
      issues.map((i) => ({
        setting: String(i.path[0] ?? 'settings'),
        message: `${String(i.path[0] ?? 'settings')} is invalid`,
      })),
    );
  }
  return { loads: loads.data, jobs: jobs.data };
}
