/** "Did you mean" suggestions for misspelt column, attribute and setting names. */

function normalize(name: string): string {
  return name.toLowerCase().replace(/[\s_\-.]/g, '');
}

function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Up to `max` candidates close to `name` (same letters ignoring case/spaces/underscores, a prefix, or a few edits away), closest first. */
export function closeNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const target = normalize(name);
  if (target === '') return [];
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of candidates) {
    const c = normalize(candidate);
    let score: number;
    if (c === target) score = 0;
    else if (
      c.length >= 3 &&
      target.length >= 3 &&
      (c.startsWith(target) || target.startsWith(c) || c.endsWith(target))
    )
      score = 1;
    else {
      const distance = editDistance(target, c);
      if (distance > Math.max(2, Math.floor(target.length / 3))) continue;
      score = 1 + distance;
    }
    scored.push({ candidate, score });
  }
  return scored
    .sort((x, y) => x.score - y.score || x.candidate.localeCompare(y.candidate))
    .slice(0, max)
    .map((s) => s.candidate);
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const close = closeNames(name, candidates);
  return close.length === 0 ? '' : ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)`;
}
