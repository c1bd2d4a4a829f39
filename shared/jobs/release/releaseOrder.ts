/**
 * Point 3 of issue 18: the order in which the solutions of one release are imported. A solution that requires
 * another of the same release comes after it; among solutions free to go, the one given first goes first, so
 * the order is stable. Everything that would make the release fail is reported at once, before anything runs:
 * two solutions with one unique name, a dependency cycle, a required solution neither in the release nor
 * installed (or only at a lower version than required).
 */
import { compareVersions, formatVersion } from './solutionVersion';
import type { InstalledSolutions } from './installedSolutions';
import type { SolutionContents } from './solutionContents';
import { problem, type ReleaseProblem, type ReleaseResult } from './releaseProblem';

export interface ReleaseEntry {
  /** The entry's name (the file in the release zip, or the blob), used in problems. */
  file: string;
  contents: Pick<SolutionContents, 'uniqueName' | 'version' | 'versionText' | 'dependencies'>;
}

/** Unique names to look up in the target: the release's solutions and every solution they require. */
export function namesToLookUp(entries: readonly ReleaseEntry[]): string[] {
  const names = new Map<string, string>();
  for (const e of entries) {
    names.set(e.contents.uniqueName.toLowerCase(), e.contents.uniqueName);
    for (const d of e.contents.dependencies)
      if (!names.has(d.solution.toLowerCase())) names.set(d.solution.toLowerCase(), d.solution);
  }
  return [...names.values()];
}

function findCycle(remaining: ReadonlySet<number>, edges: ReadonlyArray<readonly number[]>): number[] {
  // Every remaining node has a remaining prerequisite, so walking prerequisites must revisit a node.
  const start = Math.min(...remaining);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let at = start;
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    at = edges[at]!.find((p) => remaining.has(p))!;
  }
  return [...path.slice(seenAt.get(at)), at];
}

export function orderRelease<E extends ReleaseEntry>(
  entries: readonly E[],
  installed: InstalledSolutions,
): ReleaseResult<E[]> {
  const problems: ReleaseProblem[] = [];
  const indexOf = new Map<string, number>();
  entries.forEach((e, i) => {
    const key = e.contents.uniqueName.toLowerCase();
    const first = indexOf.get(key);
    if (first === undefined) {
      indexOf.set(key, i);
      return;
    }
    problems.push(
      problem(
        'DuplicateSolution',
        `${e.file} and ${entries[first]!.file} both contain the solution ${e.contents.uniqueName}: a release holds each solution once.`,
        e.file,
        e.contents.uniqueName,
      ),
    );
  });

  // prerequisites[i]: indexes of release entries entry i requires.
  const prerequisites: number[][] = entries.map((e) => {
    const within: number[] = [];
    for (const d of e.contents.dependencies) {
      const at = indexOf.get(d.solution.toLowerCase());
      const minimum = d.minVersion ? ` ${formatVersion(d.minVersion)} or later` : '';
      const needs = d.components.length > 0 ? ` (for ${d.components.slice(0, 5).join(', ')})` : '';
      if (at !== undefined) {
        const provider = entries[at]!;
        if (d.minVersion && compareVersions(provider.contents.version, d.minVersion) < 0) {
          problems.push(
            problem(
              'MissingDependency',
              `${e.file}: ${e.contents.uniqueName} requires ${d.solution}${minimum}${needs}, but the release has ${provider.contents.versionText} (${provider.file}).`,
              e.file,
              d.solution,
            ),
          );
        }
        if (!within.includes(at)) within.push(at);
        continue;
      }
      const target = installed.get(d.solution.toLowerCase());
      if (!target) {
        problems.push(
          problem(
            'MissingDependency',
            `${e.file}: ${e.contents.uniqueName} requires ${d.solution}${minimum}${needs}, which is neither in the release nor installed in the target.`,
            e.file,
            d.solution,
          ),
        );
      } else if (d.minVersion && compareVersions(target.version, d.minVersion) < 0) {
        problems.push(
          problem(
            'MissingDependency',
            `${e.file}: ${e.contents.uniqueName} requires ${d.solution}${minimum}${needs}; the target has ${target.versionText} and the release does not bring a newer one.`,
            e.file,
            d.solution,
          ),
        );
      }
    }
    return within;
  });

  const placed = new Set<number>();
  const order: number[] = [];
  const remaining = new Set(
    entries.map((_, i) => i).filter((i) => indexOf.get(entries[i]!.contents.uniqueName.toLowerCase()) === i),
  );
  for (;;) {
    let next: number | undefined;
    for (const i of remaining) {
      if (prerequisites[i]!.every((p) => placed.has(p) || p === i)) {
        next = i;
        break; // `remaining` iterates in index order, so the first ready entry is the earliest given.
      }
    }
    if (next === undefined) break;
    remaining.delete(next);
    placed.add(next);
    order.push(next);
  }
  if (remaining.size > 0) {
    const cycle = findCycle(remaining, prerequisites);
    const names = cycle.map((i) => entries[i]!.contents.uniqueName);
    problems.push(
      problem(
        'DependencyCycle',
        `The solutions ${names.slice(0, -1).join(', ')} require each other in a circle (${names.join(' requires ')}): no order can import them (files ${[...new Set(cycle)].map((i) => entries[i]!.file).join(', ')}).`,
        entries[cycle[0]!]!.file,
        names[0],
      ),
    );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: order.map((i) => entries[i]!) };
}
