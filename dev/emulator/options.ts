/**
 * The emulator's options: one zod schema used for startEmulator, `configure(patch)`,
 * `POST /_emulator/config` and the CLI's `--config` file, so every entry point validates the same way.
 */
import { z } from 'zod';
import type { TableSchemaJson } from './records/index';

const nonNegative = z.number().finite().nonnegative();
const rate = z.number().min(0).max(1);

/** Field schemas carry no defaults, so a partial patch never resets what it does not name; defaults are applied in resolveOptions. */
export const limitsSchema = z.object({
  /** Service protection: requests per sliding window and caller (a `$batch` or bulk request counts as one). */
  requestsPerWindow: z.number().int().positive(),
  /** Combined execution time (ms of the latency model) per window and caller. */
  executionMsPerWindow: z.number().positive(),
  windowSeconds: z.number().positive(),
  /** Concurrent requests per caller; one more fails at once. */
  concurrency: z.number().int().positive(),
  /** Emulated time runs this many times faster: windows last windowSeconds / timeScale real seconds. */
  timeScale: z.number().positive(),
  /**
   * The on-premises limit of concurrent ExecuteMultiple ($batch and bulk messages) per organization (2 in the
   * 2017 docs): one more is answered "Server Busy" before it runs. 0 (the default) = no such limit, as online.
   */
  executeMultiplePerOrganization: z.number().int().nonnegative(),
});
const LIMIT_DEFAULTS: z.output<typeof limitsSchema> = {
  requestsPerWindow: 6000,
  executionMsPerWindow: 1_200_000,
  windowSeconds: 300,
  concurrency: 52,
  timeScale: 1,
  executeMultiplePerOrganization: 0,
};

/**
 * Per-table overrides, keyed by entity set name (`accounts`, as in URLs) or by logical name (`account`); when
 * both name one table, the entity set's entry wins field by field. Operation costs (create/update/delete/retrieve)
 * win over perOperationMs; baseMs applies when every operation of the request is on that table.
 */
const tableLatencySchema = z.object({
  baseMs: nonNegative.optional(),
  perOperationMs: nonNegative.optional(),
  create: nonNegative.optional(),
  update: nonNegative.optional(),
  delete: nonNegative.optional(),
  retrieve: nonNegative.optional(),
});

export const latencySchema = z.object({
  baseMs: nonNegative,
  perOperationMs: nonNegative,
  /**
   * Cost of one target of CreateMultiple/UpdateMultiple/UpsertMultiple/DeleteMultiple relative to the same
   * operation sent alone or inside a `$batch` (where the server runs each operation as its own request).
   * 1 (the default) makes bulk messages no cheaper per row; Microsoft's BulkOperations sample output
   * (100 creates: CreateMultiple 1 s, ExecuteMultiple 4 s) suggests about 0.25.
   */
  bulkOperationFactor: z.number().positive().max(1).optional(),
  perTable: z.record(z.string(), tableLatencySchema),
});
const LATENCY_DEFAULTS: z.output<typeof latencySchema> = { baseMs: 0, perOperationMs: 0, perTable: {} };

export const faultsSchema = z.object({
  rate429: rate,
  rate503: rate,
  rateDrop: rate,
  rateSlow: rate,
  /** Share of $batch and bulk-message requests answered "Server Busy" (the on-premises ExecuteMultiple fault). */
  rateServerBusy: rate,
  slowMs: nonNegative,
  /** Dropped connections happen before the request runs, or after it ran (the ambiguous case clients must survive). */
  dropAfterProcessing: z.boolean(),
  seed: z.number().int(),
});
const FAULT_DEFAULTS: z.output<typeof faultsSchema> = {
  rate429: 0,
  rate503: 0,
  rateDrop: 0,
  rateSlow: 0,
  rateServerBusy: 0,
  slowMs: 2000,
  dropAfterProcessing: false,
  seed: 1,
};

export const solutionsSchema = z.object({
  /** How long a solution operation stays queued (0/0), then in progress (2/20), before it ends. Defaults 2000 and 10000 ms. */
  timing: z.object({ queuedMs: nonNegative.optional(), runMs: nonNegative.optional() }).optional(),
  /** HTTP status of the "Cannot start another [Import]" refusal (default 400; with 429 it carries Retry-After). */
  refusalStatus: z.number().int().min(400).max(599).optional(),
});
export type SolutionsSettings = z.output<typeof solutionsSchema>;

export const emulatorOptionsSchema = z.object({
  port: z.number().int().min(0).max(65535).default(0),
  host: z.string().default('127.0.0.1'),
  /** Tables JSON, handed to the record service as is (its own schema validates it). */
  schema: z.custom<TableSchemaJson>((v) => typeof v === 'object' && v !== null).optional(),
  limits: limitsSchema.partial().optional(),
  latency: latencySchema.partial().optional(),
  /** A lower cap than the hard 1000 operations per `$batch`. */
  maxBatchSize: z.number().int().positive().max(1000).default(1000),
  /** x-ms-dop-hint on every response (4 is the value shown in Microsoft's ParallelCreateUpdateMultiple sample). */
  dopHint: z.number().int().positive().default(4),
  faults: faultsSchema.partial().optional(),
  persistPath: z.string().optional(),
  persistIntervalMs: z.number().int().positive().default(5000),
  strictAuth: z.boolean().default(false),
  /** Tenant of the local identity, shown in the 401 challenge's authorization_uri. */
  tenantId: z.string().default('00000000-0000-4000-8000-00000000e1d1'),
  /** Solution operations (ImportSolutionAsync...): timings and refusal status; a `configure` patch applies to operations submitted after it. */
  solutions: solutionsSchema.optional(),
  /** Keep the write log (`GET /_emulator/writes`): one entry per create attempted. Off by default: it grows with every row. */
  writeLog: z.boolean().default(false),
  /**
   * Callers (token `oid`/`sub`, or `appid`) whose application user was removed: every request gets 403
   * 0x80072560 "The user is not a member of the organization." (tests of an identity leaving the rotation).
   */
  revokedCallers: z.array(z.string()).default([]),
  /** Per-caller limits (keyed by token `oid`/`sub` or `appid`) over `limits`: one user throttled harder than the rest. */
  callerLimits: z.record(z.string(), limitsSchema.partial()).default({}),
});

export type EmulatorOptions = z.input<typeof emulatorOptionsSchema>;
export type ResolvedEmulatorOptions = Omit<z.output<typeof emulatorOptionsSchema>, 'limits' | 'latency' | 'faults'> & {
  limits: z.output<typeof limitsSchema>;
  latency: z.output<typeof latencySchema>;
  faults: z.output<typeof faultsSchema>;
};

/** What may change at runtime: everything but the listening socket, the persistence file and the schema. */
export const emulatorPatchSchema = z.object({
  limits: limitsSchema.partial().optional(),
  latency: latencySchema.partial().optional(),
  maxBatchSize: z.number().int().positive().max(1000).optional(),
  dopHint: z.number().int().positive().optional(),
  faults: faultsSchema.partial().optional(),
  strictAuth: z.boolean().optional(),
  solutions: solutionsSchema.optional(),
  writeLog: z.boolean().optional(),
  revokedCallers: z.array(z.string()).optional(),
  callerLimits: z.record(z.string(), limitsSchema.partial()).optional(),
});
export type EmulatorPatch = z.input<typeof emulatorPatchSchema>;

export function resolveOptions(options: EmulatorOptions = {}): ResolvedEmulatorOptions {
  const o = emulatorOptionsSchema.parse(options);
  return {
    ...o,
    limits: { ...LIMIT_DEFAULTS, ...definedOnly(o.limits) },
    latency: { ...LATENCY_DEFAULTS, ...definedOnly(o.latency) },
    faults: { ...FAULT_DEFAULTS, ...definedOnly(o.faults) },
  };
}

/** Applies a patch one level deep (limits/latency/faults are merged, not replaced). */
export function applyPatch(current: ResolvedEmulatorOptions, patch: EmulatorPatch): ResolvedEmulatorOptions {
  const p = emulatorPatchSchema.parse(patch);
  return {
    ...current,
    limits: { ...current.limits, ...definedOnly(p.limits) },
    latency: { ...current.latency, ...definedOnly(p.latency) },
    faults: { ...current.faults, ...definedOnly(p.faults) },
    maxBatchSize: p.maxBatchSize ?? current.maxBatchSize,
    dopHint: p.dopHint ?? current.dopHint,
    strictAuth: p.strictAuth ?? current.strictAuth,
    writeLog: p.writeLog ?? current.writeLog,
    revokedCallers: p.revokedCallers ?? current.revokedCallers,
    callerLimits: p.callerLimits ?? current.callerLimits,
    solutions: p.solutions ? mergeSolutions(current.solutions, p.solutions) : current.solutions,
  };
}

/** timing is merged too, so `{ timing: { runMs } }` keeps the queued time set before. */
function mergeSolutions(current: SolutionsSettings | undefined, patch: SolutionsSettings): SolutionsSettings {
  const timing = current?.timing || patch.timing ? { ...current?.timing, ...definedOnly(patch.timing) } : undefined;
  return { ...current, ...definedOnly(patch), ...(timing ? { timing } : {}) };
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
