/**
 * Finds credentials in captured log text: the exact secrets and tokens of a run, their distinctive parts
 * (a token's signature alone is enough to be a leak), and generic shapes (Bearer + JWT, AccountKey=, sig=).
 */
export interface LeakFinding {
  what: string;
  at: number;
  excerpt: string;
}

const jwtShape = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g;
const genericShapes: [string, RegExp][] = [
  ['Bearer followed by a JWT', /Bearer\s+eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g],
  ['a JWT', jwtShape],
  ['AccountKey=<value>', /AccountKey=(?!\[redacted\])[^;\s"']+/gi],
  ['sig=<value>', /[?&;\s"']sig=(?!\[redacted\])[^&;\s"']+/gi],
];

export function scanForLeaks(text: string, secrets: Record<string, string>): LeakFinding[] {
  const findings: LeakFinding[] = [];
  const add = (what: string, at: number) =>
    findings.push({ what, at, excerpt: text.slice(Math.max(0, at - 40), at + 60).replace(/eyJ[\w.-]+/g, 'eyJ…') });
  for (const [what, secret] of Object.entries(secrets)) {
    if (!secret) continue;
    const parts = [secret, ...(secret.split('.').length === 3 ? [secret.split('.')[2]!] : [])].filter(
      (p) => p.length >= 12,
    );
    for (const part of parts) for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) add(what, at);
  }
  for (const [what, shape] of genericShapes) {
    shape.lastIndex = 0;
    for (let m; (m = shape.exec(text));) add(what, m.index);
  }
  return findings;
}
