/**
 * Guard for what ships (issue 22): every object-literal key written in a source file is still there, as often, in
 * the JavaScript that `npm run build` emitted for it in dist/. TypeScript 7.0.2 once emitted a class alias (`_a`)
 * as a key in dev/host/timerTrigger.ts; a compiler that renames keys fails here, file and key named.
 * Needs dist/ (npm test builds first).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseSync } from '@swc/core';

const repoRoot = join(__dirname, '..', '..');
const sourceRoots = ['functions', 'shared', 'dev', 'bench', 'test'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Counts the names of object-literal keys (`{ a: 1, 'b': 2, c }`) anywhere in a module's AST. */
function objectKeys(node: unknown, counts = new Map<string, number>()): Map<string, number> {
  if (Array.isArray(node)) {
    for (const child of node) objectKeys(child, counts);
  } else if (node && typeof node === 'object') {
    const n = node as { type?: string; properties?: unknown[] };
    if (n.type === 'ObjectExpression') for (const property of n.properties ?? []) countKey(property, counts);
    for (const value of Object.values(node)) objectKeys(value, counts);
  }
  return counts;
}

function countKey(property: unknown, counts: Map<string, number>): void {
  const p = property as { type: string; value?: unknown; key?: { type: string; value?: unknown } };
  const name =
    p.type === 'Identifier' // shorthand `{ c }`
      ? p.value
      : (p.type === 'KeyValueProperty' || p.type === 'MethodProperty' || p.type === 'GetterProperty') &&
          (p.key?.type === 'Identifier' || p.key?.type === 'StringLiteral')
        ? p.key.value
        : undefined;
  if (typeof name === 'string') counts.set(name, (counts.get(name) ?? 0) + 1);
}

const files = sourceRoots.flatMap((root) => sourceFiles(join(repoRoot, root)));

test('dist/ was built', () => {
  expect(existsSync(join(repoRoot, 'dist', 'functions'))).toBe(true);
  expect(files.length).toBeGreaterThan(100);
});

test.each(files.map((file) => [relative(repoRoot, file)]))('%s keeps its object keys in dist/', (file) => {
  const emittedPath = join(repoRoot, 'dist', file.replace(/\.ts$/, '.js'));
  expect(existsSync(emittedPath)).toBe(true);
  const source = parseSync(readFileSync(join(repoRoot, file), 'utf8'), { syntax: 'typescript' });
  const emitted = parseSync(readFileSync(emittedPath, 'utf8'), { syntax: 'ecmascript' });
  const emittedKeys = objectKeys(emitted);
  const missing = [...objectKeys(source)].filter(([key, count]) => (emittedKeys.get(key) ?? 0) < count);
  expect(missing).toEqual([]);
});
