/**
 * Messages of the `dataverse-async` queue (and bodies of POST /api/imports): the three requests ExecuteAsync
 * accepts (ImportSolution, DeleteAndPromote, Merge), alone or as an ordered list.
 * StageAndUpgrade is ImportSolution with `stageAndUpgrade: true`, as in `pac solution import --stage-and-upgrade`.
 */
import { z } from 'zod';
import { blobSegmentProblem } from '../security/inputChecks';
import { guidPattern } from '../security/inputChecks';

export const executeAsyncKinds = ['ImportSolution', 'DeleteAndPromote', 'Merge'] as const;

export const blobReferenceSchema = z.object({
  container: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?$/,
      'a blob container name (3-63 lower-case letters, digits, hyphens)',
    ),
  name: z
    .string()
    .min(1)
    .max(1024)
    .superRefine((name, ctx) => {
      const problem = name
        .split('/')
        .map((segment) => blobSegmentProblem(segment))
        .find(Boolean);
      if (problem) ctx.addIssue({ code: 'custom', message: `not a safe blob name: a path segment ${problem}` });
    }),
});
export type BlobReference = z.infer<typeof blobReferenceSchema>;

/** The `pac solution create-settings` deployment settings file. */
export const deploymentSettingsSchema = z.object({
  EnvironmentVariables: z.array(z.object({ SchemaName: z.string().min(1), Value: z.string() })).default([]),
  ConnectionReferences: z
    .array(z.object({ LogicalName: z.string().min(1), ConnectionId: z.string(), ConnectorId: z.string().optional() }))
    .default([]),
});
export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;

const guid = z.string().regex(guidPattern, 'a GUID');

const common = { correlationId: z.string().max(200).optional() };

export const importSolutionSchema = z
  .object({
    kind: z.literal('ImportSolution'),
    solution: blobReferenceSchema,
    overwriteUnmanagedCustomizations: z.boolean().default(false),
    /** pac's --activate-plugins; Dataverse's PublishWorkflows (not nullable). */
    publishWorkflows: z.boolean().default(true),
    holdingSolution: z.boolean().default(false),
    stageAndUpgrade: z.boolean().default(false),
    convertToManaged: z.boolean().default(false),
    skipProductUpdateDependencies: z.boolean().default(false),
    /** Deployment settings inline, or a blob holding the settings JSON. */
    settings: deploymentSettingsSchema.optional(),
    settingsFile: blobReferenceSchema.optional(),
    /**
     * How to import (issue 18): auto decides from the installed version; update, upgrade and holding pin it.
     * Absent: upgrade when stageAndUpgrade, holding when holdingSolution, else auto.
     */
    mode: z.enum(['auto', 'update', 'upgrade', 'holding']).optional(),
    /** Import even when the same or a newer version is installed. */
    force: z.boolean().default(false),
    /** Finish a half-done upgrade (`<name>_Upgrade` installed) with DeleteAndPromote before importing. */
    finishUpgrade: z.boolean().default(false),
    ...common,
  })
  .refine((m) => !(m.holdingSolution && m.stageAndUpgrade), {
    message:
      'holdingSolution and stageAndUpgrade are mutually exclusive (as --import-as-holding and --stage-and-upgrade)',
    path: ['stageAndUpgrade'],
  })
  .refine((m) => !(m.settings && m.settingsFile), {
    message: 'give settings or settingsFile, not both',
    path: ['settingsFile'],
  });

export const deleteAndPromoteSchema = z.object({
  kind: z.literal('DeleteAndPromote'),
  /** Unique name of the base solution whose holding solution (`<name>_Upgrade`) is promoted. */
  uniqueName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a solution unique name'),
  ...common,
});

export const mergeSchema = z
  .object({
    kind: z.literal('Merge'),
    table: z.enum(['account', 'contact']),
    target: guid,
    subordinate: guid,
    /** Columns of the subordinate to copy onto the target. */
    updateContent: z.record(z.string(), z.unknown()).default({}),
    performParentingChecks: z.boolean().default(false),
    ...common,
  })
  .refine((m) => m.target.toLowerCase() !== m.subordinate.toLowerCase(), {
    message: 'target and subordinate must differ',
    path: ['subordinate'],
  });

export const asyncOperationSchema = z.discriminatedUnion('kind', [
  importSolutionSchema,
  deleteAndPromoteSchema,
  mergeSchema,
]);
export type ImportSolutionOperation = z.infer<typeof importSolutionSchema>;
export type DeleteAndPromoteOperation = z.infer<typeof deleteAndPromoteSchema>;
export type MergeOperation = z.infer<typeof mergeSchema>;
export type AsyncOperationRequest = z.infer<typeof asyncOperationSchema>;

export const MAX_OPERATIONS = 50;

export const operationListSchema = z.object({
  operations: z.array(asyncOperationSchema).min(1).max(MAX_OPERATIONS),
  continueOnError: z.boolean().default(false),
  ...common,
});
export type OperationList = z.infer<typeof operationListSchema>;

export type AsyncOperationMessage =
  { kind: 'single'; operation: AsyncOperationRequest } | { kind: 'list'; list: OperationList };

/** The job kind a request becomes (StageAndUpgrade is its own kind in jobs and events). */
export type JobKind =
  'ImportSolution' | 'StageAndUpgrade' | 'DeleteAndPromote' | 'Merge' | 'Batch' | 'Release' | 'Unknown';

export function jobKindOf(operation: AsyncOperationRequest): JobKind {
  if (operation.kind === 'ImportSolution' && operation.stageAndUpgrade) return 'StageAndUpgrade';
  return operation.kind;
}

export type ParseResult =
  | { ok: true; message: AsyncOperationMessage }
  | { ok: false; reason: string; requestedKind: string; correlationId?: string };

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(message)';
  const extra = issue as { expected?: unknown; values?: unknown[] };
  const expected =
    extra.expected !== undefined
      ? ` (expected ${shown(extra.expected)})`
      : extra.values
        ? ` (expected one of ${extra.values.map(shown).join(', ')})`
        : '';
  return `${path}: ${issue.message}${expected}`;
}

function kindProblem(kind: unknown, where: string): string | undefined {
  if (kind === undefined) return `${where}kind is missing (expected one of ${executeAsyncKinds.join(', ')})`;
  if (typeof kind !== 'string' || !(executeAsyncKinds as readonly string[]).includes(kind)) {
    const hint =
      kind === 'StageAndUpgrade' ? '; for stage and upgrade send ImportSolution with stageAndUpgrade: true' : '';
    return `${where}kind '${shown(kind)}' is not one of ${executeAsyncKinds.join(', ')}, the only requests ExecuteAsync accepts${hint}`;
  }
  return undefined;
}

/** Validates a decoded message; the reason of a refusal names the field and what was expected. */
export function parseAsyncOperationMessage(raw: unknown): ParseResult {
  const record =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const correlationId = typeof record?.correlationId === 'string' ? record.correlationId : undefined;
  if (!record)
    return { ok: false, reason: '(message): expected a JSON object', requestedKind: 'Unknown', correlationId };
  if ('operations' in record) {
    const operations = Array.isArray(record.operations) ? record.operations : [];
    for (const [i, op] of operations.entries()) {
      const problem = kindProblem(
        typeof op === 'object' && op !== null ? (op as Record<string, unknown>).kind : undefined,
        `operations.${i}.`,
      );
      if (problem) return { ok: false, reason: problem, requestedKind: 'Batch', correlationId };
    }
    const parsed = operationListSchema.safeParse(record);
    if (!parsed.success)
      return {
        ok: false,
        reason: parsed.error.issues.map(describeIssue).join('; '),
        requestedKind: 'Batch',
        correlationId,
      };
    return { ok: true, message: { kind: 'list', list: parsed.data } };
  }
  const problem = kindProblem(record.kind, '');
  if (problem)
    return {
      ok: false,
      reason: problem,
      requestedKind: typeof record.kind === 'string' ? record.kind : 'Unknown',
      correlationId,
    };
  const parsed = asyncOperationSchema.safeParse(record);
  if (!parsed.success)
    return {
      ok: false,
      reason: parsed.error.issues.map(describeIssue).join('; '),
      requestedKind: String(record.kind),
      correlationId,
    };
  return { ok: true, message: { kind: 'single', operation: parsed.data } };
}

/** ComponentParameters of ImportSolutionAsync from a deployment settings file. */
export function componentParametersOf(settings: DeploymentSettings | undefined): Record<string, unknown>[] {
  if (!settings) return [];
  return [
    ...settings.EnvironmentVariables.map((v) => ({
      '@odata.type': 'Microsoft.Dynamics.CRM.environmentvariablevalue',
      schemaname: v.SchemaName,
      value: v.Value,
    })),
    ...settings.ConnectionReferences.map((c) => ({
      '@odata.type': 'Microsoft.Dynamics.CRM.connectionreference',
      connectionreferencelogicalname: c.LogicalName,
      connectionid: c.ConnectionId,
      ...(c.ConnectorId ? { connectorid: c.ConnectorId } : {}),
    })),
  ];
}

/** A value as a user wrote it: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}
