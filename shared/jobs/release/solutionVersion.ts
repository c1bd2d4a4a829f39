/**
 * Solution versions as Dataverse writes them: major.minor.build.revision, each a non-negative 32-bit integer.
 * A package must carry all four parts (what `pac solution version` and exports write); a version read back from
 * the `solutions` table may have fewer (the built-in solutions report `1.0`), the missing parts counting as 0.
 */
import { z } from 'zod';

export type SolutionVersion = readonly [number, number, number, number];

// Leading zeros are allowed (.NET's Version.Parse, which Dataverse uses, reads 1.01 as 1.1); signs and spaces are not.
const partPattern = /^\d{1,10}$/;
const maxPart = 2_147_483_647;

function parseParts(text: string, min: number): SolutionVersion | undefined {
  const parts = text.split('.');
  if (parts.length < min || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    if (!partPattern.test(part)) return undefined;
    const n = Number(part);
    if (n > maxPart) return undefined;
    numbers.push(n);
  }
  while (numbers.length < 4) numbers.push(0);
  return numbers as unknown as SolutionVersion;
}

/** A package version: exactly four parts. */
export const parsePackageVersion = (text: string): SolutionVersion | undefined => parseParts(text, 4);

/** An installed version: two to four parts. */
export const parseInstalledVersion = (text: string): SolutionVersion | undefined => parseParts(text, 2);

export const packageVersionSchema = z.string().refine((text) => parsePackageVersion(text) !== undefined, {
  message: 'not a version major.minor.build.revision (four whole numbers, e.g. 1.0.0.0)',
});

export const installedVersionSchema = z
  .string()
  .refine((text) => parseInstalledVersion(text) !== undefined, { message: 'not a solution version' });

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareVersions(a: SolutionVersion, b: SolutionVersion): number {
  for (let i = 0; i < 4; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return 0;
}

export const formatVersion = (v: SolutionVersion): string => v.join('.');
