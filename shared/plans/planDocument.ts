/**
 * `plan.json`, the optional file of a plan zip: per file its table, profile, operation and key, and the order
 * of the tables when the user insists on one. Everything else is derived (table from the file or sheet name,
 * order from the relationships). Unknown settings are errors, like the load profile's.
 */
import { z } from 'zod';
import { parseLoadProfileInput, type LoadProfileInput } from '../ingestion/loadProfile';
import { PlanError } from './planError';

export const planFileEntrySchema = z.strictObject({
  /** The zip entry (`account.csv`) or the workbook's sheet (`Accounts`) this entry configures. */
  file: z.string().min(1),
  /** Logical name, entity set name or display name; default: from the file or sheet name. */
  table: z.string().min(1).optional(),
  /** A load profile (as `_profile.json`), applied to this file only. */
  profile: z.record(z.string(), z.unknown()).optional(),
  operation: z.enum(['create', 'update', 'upsert', 'delete']).optional(),
  /** Alternate key logical name or its attributes, comma-separated (as the `key` query of POST /api/loads). */
  key: z.string().min(1).optional(),
});
export type PlanFileEntry = Omit<z.infer<typeof planFileEntrySchema>, 'profile'> & { profile?: LoadProfileInput };

export const planFileSchema = z.strictObject({
  files: z.array(planFileEntrySchema).default([]),
  /** Tables in the order to load them, when the user insists: a lookup to a later table is bound in a second pass. */
  order: z.array(z.string().min(1)).optional(),
});
export interface PlanFile {
  files: PlanFileEntry[];
  order?: string[];
}

/** Parses `plan.json`; every problem is named with its path. */
export function parsePlanFile(text: string, where = 'plan.json'): PlanFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PlanError('PlanFileInvalid', `${where} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = planFileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PlanError('PlanFileInvalid', `${where} is not a valid plan: ${problems.join('; ')}`);
  }
  // the profile is checked by the load profile's own rules, so its messages ("did you mean") are the same
  const files = parsed.data.files.map((entry, i) =>
    entry.profile === undefined
      ? { ...entry, profile: undefined }
      : { ...entry, profile: parseLoadProfileInput(entry.profile, `${where} files[${i}].profile`) },
  );
  return {
    files: files.map(({ profile, ...rest }) => (profile ? { ...rest, profile } : rest)),
    ...(parsed.data.order ? { order: parsed.data.order } : {}),
  };
}
