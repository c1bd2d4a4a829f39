/**
 * Optional persistence of the record state to a JSON file (written atomically: temp file + rename).
 * The file's folder is created when missing, at start and before each save (it may be removed while running).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

const persistedSchema = z.object({ version: z.literal(1), savedAt: z.string(), records: z.unknown() });

export async function loadPersistedRecords(path: string): Promise<unknown> {
  await mkdir(dirname(path), { recursive: true });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return persistedSchema.parse(JSON.parse(text)).records;
}

export async function savePersistedRecords(path: string, records: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ version: 1, savedAt: new Date().toISOString(), records }));
  await rename(tmp, path);
}
