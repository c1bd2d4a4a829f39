import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const localSettingsSchema = z.looseObject({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  Host: z.looseObject({ LocalHttpPort: z.number().int().optional() }).optional(),
});

export type LocalSettings = z.infer<typeof localSettingsSchema>;

/**
 * Reads `<appDir>/local.settings.json` (if present) and copies its Values into `env` for names the environment
 * does not already set: the environment overrides the file. Returns the parsed file.
 */
export function applyLocalSettings(appDir: string, env: NodeJS.ProcessEnv = process.env): LocalSettings | undefined {
  const file = join(appDir, 'local.settings.json');
  if (!existsSync(file)) return undefined;
  const settings = localSettingsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  if (settings.IsEncrypted)
    throw new Error(`${file} is encrypted (IsEncrypted: true); the local host reads plain settings only.`);
  for (const [name, value] of Object.entries(settings.Values ?? {})) {
    if (env[name] === undefined) env[name] = String(value);
  }
  return settings;
}
