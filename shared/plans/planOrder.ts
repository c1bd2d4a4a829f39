/**
 * The order of a plan's tables, from the lookups its files use (ManyToOne relationships of EntityDefinitions
 * whose lookup attribute is a column of the file): parents first, tables with no dependency between them in the
 * same stage (they load at the same time). A cycle (account.primarycontactid ↔ contact.parentcustomerid) is
 * broken by deferring one of its lookups: that side loads without it and binds it in a second pass. A lookup to
 * the table itself never orders anything; it is bound in the second pass when its row's parent comes later.
 * Pure and deterministic: the input's order does not matter.
 */
import { PlanError } from './planError';

/** A lookup column of `table` whose values point at rows of `target` (one edge per target of a polymorphic lookup). */
export interface LookupEdge {
  table: string;
  attribute: string;
  target: string;
  /** SystemRequired: a create without it fails, so it is deferred only when nothing else breaks the cycle. */
  required?: boolean;
}

export type DeferReason = 'self' | 'cycle' | 'order';

export interface DeferredLookup extends LookupEdge {
  reason: DeferReason;
  /** For messages: why, in words. */
  why: string;
}

export interface PlanOrder {
  /** Tables per stage, each stage sorted by name; stage n+1 starts when stage n has ended. */
  stages: string[][];
  /** Lookups left out of the first pass and bound afterwards. */
  deferred: DeferredLookup[];
  /** Per table, why it is where it is. */
  reasons: Record<string, string[]>;
}

const edgeKey = (e: LookupEdge) => `${e.table}\u0000${e.attribute}\u0000${e.target}`;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const compareEdges = (a: LookupEdge, b: LookupEdge) =>
  byName(a.table, b.table) || byName(a.attribute, b.attribute) || byName(a.target, b.target);
const arrow = (e: LookupEdge) => `${e.table}.${e.attribute} → ${e.target}`;

/** Strongly connected components (Tarjan, iterative so deep chains don't overflow the stack). */
function components(nodes: string[], edges: LookupEdge[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) next.get(e.table)!.push(e.target);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; i: number }[] = [{ node: root, i: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const targets = next.get(frame.node)!;
      if (frame.i < targets.length) {
        const target = targets[frame.i++]!;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, i: 0 });
        } else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        result.push(component.sort(byName));
      }
    }
  }
  return result;
}

/** A shortest path of tables from `from` to `to` over `edges` (for the cycle named in a reason). */
function pathBetween(from: string, to: string, edges: LookupEdge[]): string[] {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === to) break;
    for (const e of edges)
      if (e.table === node && !previous.has(e.target)) {
        previous.set(e.target, node);
        queue.push(e.target);
      }
  }
  const path = [to];
  while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
  return path;
}

/** The edge of a cycle to defer: not required if possible, from the table most others in the cycle depend on (it then loads first), then by name. */
function edgeToDefer(component: Set<string>, edges: LookupEdge[]): LookupEdge {
  const inside = edges.filter((e) => component.has(e.table) && component.has(e.target));
  const dependents = new Map<string, number>();
  for (const e of inside) dependents.set(e.target, (dependents.get(e.target) ?? 0) + 1);
  return inside.sort(
    (a, b) =>
      Number(a.required ?? false) - Number(b.required ?? false) ||
      (dependents.get(b.table) ?? 0) - (dependents.get(a.table) ?? 0) ||
      compareEdges(a, b),
  )[0]!;
}

function uniqueEdges(tables: Set<string>, lookups: readonly LookupEdge[]): LookupEdge[] {
  const seen = new Map<string, LookupEdge>();
  for (const e of lookups)
    if (tables.has(e.table) && tables.has(e.target)) {
      const known = seen.get(edgeKey(e));
      seen.set(edgeKey(e), { ...e, required: (known?.required ?? false) || (e.required ?? false) });
    }
  return [...seen.values()].sort(compareEdges);
}

/** Stage of each table: 0 without parents, else one after its last parent (Kahn's algorithm over an acyclic graph). */
function layers(tables: string[], edges: LookupEdge[]): string[][] {
  const stage = new Map<string, number>();
  const parents = new Map<string, string[]>(tables.map((t) => [t, []]));
  for (const e of edges) parents.get(e.table)!.push(e.target);
  const visit = (table: string): number => {
    const known = stage.get(table);
    if (known !== undefined) return known;
    // acyclic here, and depth is bounded by the number of tables of a plan (≤ a few hundred)
    const value = Math.max(-1, ...parents.get(table)!.map(visit)) + 1;
    stage.set(table, value);
    return value;
  };
  const stages: string[][] = [];
  for (const table of tables) (stages[visit(table)] ??= []).push(table);
  return stages.map((s) => s.sort(byName));
}

export function orderPlan(input: {
  tables: readonly string[];
  lookups: readonly LookupEdge[];
  order?: readonly string[];
}): PlanOrder {
  const tables = [...new Set(input.tables)].sort(byName);
  if (tables.length === 0) throw new PlanError('EmptyPlan', 'the plan has no tables');
  const all = uniqueEdges(new Set(tables), input.lookups);
  const deferred: DeferredLookup[] = [];
  const reasons: Record<string, string[]> = Object.fromEntries(tables.map((t) => [t, []]));
  for (const e of all.filter((e) => e.table === e.target))
    deferred.push({
      ...e,
      reason: 'self',
      why: `${arrow(e)} refers to the table itself: a row whose parent comes later is bound in a second pass`,
    });
  let edges = all.filter((e) => e.table !== e.target);

  let stages: string[][];
  if (input.order) {
    const position = new Map<string, number>();
    for (const name of input.order) {
      if (!reasons[name])
        throw new PlanError('UnknownTable', `plan.json order names '${name}', which is not a table of this plan`);
      if (!position.has(name)) position.set(name, position.size);
    }
    for (const t of tables) if (!position.has(t)) position.set(t, position.size);
    stages = [...position.keys()].map((t) => [t]);
    for (const e of edges.filter((e) => position.get(e.target)! >= position.get(e.table)!))
      deferred.push({
        ...e,
        reason: 'order',
        why: `${arrow(e)} is bound in a second pass: plan.json loads ${e.target} later`,
      });
    edges = edges.filter((e) => position.get(e.target)! < position.get(e.table)!);
    for (const t of tables) reasons[t]!.push(`position ${position.get(t)! + 1} in plan.json's order`);
  } else {
    for (;;) {
      const cyclic = components(tables, edges).filter((c) => c.length > 1);
      if (cyclic.length === 0) break;
      for (const component of cyclic) {
        const edge = edgeToDefer(new Set(component), edges);
        const cycle = pathBetween(edge.target, edge.table, edges);
        edges = edges.filter((e) => edgeKey(e) !== edgeKey(edge));
        deferred.push({
          ...edge,
          reason: 'cycle',
          why: `${arrow(edge)} is bound in a second pass to break the cycle ${[edge.table, ...cycle].join(' → ')}`,
        });
      }
    }
    stages = layers(tables, edges);
  }
  for (const t of tables) {
    const parents = edges.filter((e) => e.table === t);
    if (!input.order)
      reasons[t]!.push(
        parents.length === 0
          ? 'no lookup to another table of the plan'
          : `after ${[...new Set(parents.map((e) => e.target))].join(', ')} (${parents.map(arrow).join('; ')})`,
      );
    for (const d of deferred.filter((d) => d.table === t)) reasons[t]!.push(d.why);
  }
  return { stages, deferred: deferred.sort(compareEdges), reasons };
}
