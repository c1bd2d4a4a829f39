/**
 * The latency model, pure: how long a request "executes" on the emulated server. That figure is both
 * the delay before the answer and what accrues toward the execution-time limit (as in Dataverse, where
 * a `$batch` or bulk request counts as one request but adds the time of all its operations).
 */
import type { ResolvedEmulatorOptions } from './options';

export type OperationKind = 'create' | 'update' | 'delete' | 'retrieve' | 'other';

export interface OperationCost {
  /** Entity set name from the URL (`accounts`), or undefined for unbound actions/functions. */
  table?: string;
  kind: OperationKind;
  /** Operations this stands for (the targets of a bulk message). */
  count: number;
  /** A bulk message (CreateMultiple...): its targets cost `bulkOperationFactor` of a single operation each. */
  bulk?: boolean;
}

const BULK = /^([A-Za-z_]\w*)\/Microsoft\.Dynamics\.CRM\.(Create|Update|Upsert|Delete)Multiple$/;
const BULK_KIND: Record<string, OperationKind> = {
  Create: 'create',
  Update: 'update',
  Upsert: 'update',
  Delete: 'delete',
};

/** Classifies one Web API call (path relative to the Web API base). */
export function classifyOperation(method: string, path: string, body: string): OperationCost {
  const bulk = BULK.exec(path);
  if (bulk && method === 'POST') {
    return { table: bulk[1], kind: BULK_KIND[bulk[2]!]!, count: Math.max(1, countTargets(body)), bulk: true };
  }
  // Entity sets are lower-case logical plurals; unbound actions and functions are PascalCase (WhoAmI, Merge).
  const table = /^([a-z_][a-z0-9_]*)(?=$|[(/])/.exec(path)?.[1];
  switch (method) {
    case 'GET':
      return { table, kind: 'retrieve', count: 1 };
    case 'POST':
      return { table, kind: table !== undefined && table === path ? 'create' : 'other', count: 1 };
    case 'PATCH':
    case 'PUT':
      return { table, kind: 'update', count: 1 };
    case 'DELETE':
      return { table, kind: 'delete', count: 1 };
    default:
      return { table, kind: 'other', count: 1 };
  }
}

function countTargets(body: string): number {
  try {
    const parsed: unknown = JSON.parse(body);
    const targets = (parsed as { Targets?: unknown } | null)?.Targets;
    return Array.isArray(targets) ? targets.length : 0;
  } catch {
    return 0;
  }
}

type TableLatency = ResolvedEmulatorOptions['latency']['perTable'][string];

/**
 * The per-table override for an entity set: `perTable` may name the table by entity set (`accounts`) or by
 * logical name (`account`); when both are there, the entity set's entry wins field by field.
 */
export function tableLatency(
  model: ResolvedEmulatorOptions['latency'],
  entitySet: string,
  logicalNameOf?: (entitySet: string) => string | undefined,
): TableLatency | undefined {
  const bySet = model.perTable[entitySet];
  const logicalName = logicalNameOf?.(entitySet);
  const byName = logicalName !== undefined && logicalName !== entitySet ? model.perTable[logicalName] : undefined;
  return byName && bySet ? { ...byName, ...bySet } : (bySet ?? byName);
}

/** baseMs once per HTTP request (the table's override if every operation is on one table) + each operation's cost. */
export function executionMs(
  operations: OperationCost[],
  model: ResolvedEmulatorOptions['latency'],
  logicalNameOf?: (entitySet: string) => string | undefined,
): number {
  const overrides = new Map<string | undefined, TableLatency | undefined>();
  const overrideOf = (table: string | undefined): TableLatency | undefined => {
    if (table === undefined) return undefined;
    if (!overrides.has(table)) overrides.set(table, tableLatency(model, table, logicalNameOf));
    return overrides.get(table);
  };
  const tables = new Set(operations.map((o) => o.table));
  const only = tables.size === 1 ? [...tables][0] : undefined;
  let total = overrideOf(only)?.baseMs ?? model.baseMs;
  for (const op of operations) {
    const t = overrideOf(op.table);
    const perOp = (op.kind !== 'other' ? t?.[op.kind] : undefined) ?? t?.perOperationMs ?? model.perOperationMs;
    total += perOp * op.count * (op.bulk ? (model.bulkOperationFactor ?? 1) : 1);
  }
  return total;
}
