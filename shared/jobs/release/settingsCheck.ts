/**
 * Point 2 of issue 18: a deployment settings file (`pac solution create-settings`) checked against the solution
 * before anything is sent, so a wrong name fails in a second instead of after a 20-minute import. Every problem
 * is reported at once, each naming the settings file and the item.
 */
import { strFromU8 } from 'fflate';
import { deploymentSettingsSchema, type DeploymentSettings } from '../asyncOperationMessage';
import type { EnvironmentVariableDefinition, EnvironmentVariableType, SolutionContents } from './solutionContents';
import { problem, type ReleaseProblem, type ReleaseResult } from './releaseProblem';

/** Reads a settings file's text or bytes. */
export function readDeploymentSettings(source: string | Uint8Array, file: string): ReleaseResult<DeploymentSettings> {
  const text = (typeof source === 'string' ? source : strFromU8(source)).replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problems: [problem('SettingsNotJson', `${file} is not JSON: ${(error as Error).message}.`, file)],
    };
  }
  const parsed = deploymentSettingsSchema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const raw = json as Record<string, unknown> | null;
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const [list, index] = issue.path;
      const entry =
        typeof list === 'string' && typeof index === 'number' && raw && Array.isArray(raw[list])
          ? (raw[list] as unknown[])[index]
          : undefined;
      const record = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
      const name = record?.['SchemaName'] ?? record?.['LogicalName'];
      const item = typeof name === 'string' ? name : undefined;
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(file)';
      return problem('SettingsBadShape', `${file}: ${where}${item ? ` (${item})` : ''}: ${issue.message}.`, file, item);
    }),
  };
}

const keyVaultSecretReference =
  /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+\/secrets\/[^/]+$/;

/** Why a value does not fit the variable's type, or undefined when it does. */
export function valueProblem(type: EnvironmentVariableType, value: string): string | undefined {
  switch (type) {
    case 'String':
    case 'Data source':
      return undefined;
    case 'Number':
      return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) && Number.isFinite(Number(value))
        ? undefined
        : 'is not a number';
    case 'Boolean':
      // Dataverse stores yes/no; settings files written by hand often say true/false.
      return /^(yes|no|true|false)$/i.test(value.trim()) ? undefined : 'is not a Boolean (yes, no, true or false)';
    case 'JSON':
      try {
        JSON.parse(value);
        return undefined;
      } catch (error) {
        return `is not JSON (${(error as Error).message})`;
      }
    case 'Secret':
      return keyVaultSecretReference.test(value.trim())
        ? undefined
        : 'is not an Azure Key Vault secret reference (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}/secrets/{secret})';
  }
}

const listOf = (names: readonly string[]): string =>
  names.length === 0 ? 'none' : names.length > 10 ? `${names.slice(0, 10).join(', ')}, …` : names.join(', ');

/**
 * Every problem of a settings file against a solution's connection references and environment variables.
 * `valuesInTarget`: schema names (any case) that already have a value in the target, which satisfy a required
 * variable the settings leave empty; leave it out when unknown (then the settings must give the value).
 */
export function checkDeploymentSettings(
  settings: DeploymentSettings,
  solution: Pick<SolutionContents, 'uniqueName' | 'connectionReferences' | 'environmentVariables'>,
  file: string,
  valuesInTarget: ReadonlySet<string> = new Set(),
): ReleaseProblem[] {
  const inTarget = new Set([...valuesInTarget].map((n) => n.toLowerCase()));
  const problems: ReleaseProblem[] = [];
  const references = new Set(solution.connectionReferences.map((r) => r.logicalName.toLowerCase()));
  const variables = new Map<string, EnvironmentVariableDefinition>(
    solution.environmentVariables.map((v) => [v.schemaName.toLowerCase(), v]),
  );
  const seen = new Set<string>();
  for (const ref of settings.ConnectionReferences) {
    const key = ref.LogicalName.toLowerCase();
    if (seen.has(`c:${key}`)) {
      problems.push(
        problem(
          'SettingsDuplicateItem',
          `${file}: the connection reference ${ref.LogicalName} is listed twice.`,
          file,
          ref.LogicalName,
        ),
      );
    }
    seen.add(`c:${key}`);
    if (!references.has(key)) {
      problems.push(
        problem(
          'UnknownConnectionReference',
          `${file}: the connection reference ${ref.LogicalName} is not in the solution ${solution.uniqueName} (it has: ${listOf(solution.connectionReferences.map((r) => r.logicalName))}).`,
          file,
          ref.LogicalName,
        ),
      );
    }
  }
  const given = new Map<string, string>();
  for (const v of settings.EnvironmentVariables) {
    const key = v.SchemaName.toLowerCase();
    if (given.has(key)) {
      problems.push(
        problem(
          'SettingsDuplicateItem',
          `${file}: the environment variable ${v.SchemaName} is listed twice.`,
          file,
          v.SchemaName,
        ),
      );
    }
    given.set(key, v.Value);
    const definition = variables.get(key);
    if (!definition) {
      problems.push(
        problem(
          'UnknownEnvironmentVariable',
          `${file}: the environment variable ${v.SchemaName} is not in the solution ${solution.uniqueName} (it has: ${listOf(solution.environmentVariables.map((d) => d.schemaName))}).`,
          file,
          v.SchemaName,
        ),
      );
      continue;
    }
    // An empty value is what create-settings writes for "not set here": the default (if any) applies.
    if (v.Value === '') continue;
    const wrong = valueProblem(definition.type, v.Value);
    if (wrong) {
      problems.push(
        problem(
          'EnvironmentVariableBadValue',
          `${file}: the value of ${v.SchemaName} ${wrong}: the variable's type is ${definition.type}.`,
          file,
          v.SchemaName,
        ),
      );
    }
  }
  for (const definition of solution.environmentVariables) {
    if (!definition.isRequired || definition.defaultValue !== undefined) continue;
    const value = given.get(definition.schemaName.toLowerCase());
    if ((value === undefined || value === '') && !inTarget.has(definition.schemaName.toLowerCase())) {
      problems.push(
        problem(
          'EnvironmentVariableMissingValue',
          `${file}: the environment variable ${definition.schemaName} of ${solution.uniqueName} is required and has no default value, so the settings must give it a value.`,
          file,
          definition.schemaName,
        ),
      );
    }
  }
  return problems;
}
