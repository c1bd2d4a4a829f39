/**
 * Checks that infra/ deploys what the code needs: the app settings the configuration schema requires, every
 * container/queue/table the settings and the function registrations name, the Event Grid subscriptions of the
 * blob triggers, scale settings within Dataverse's concurrency limit, and a workbook whose queries name metrics the
 * app emits (workbookCheck.ts). Returns problems, one sentence each.
 */
import { join } from 'node:path';
import { loadSettings, settingsSections, SettingsError } from '../../shared/config/settings';
import type { SettingDefinition } from '../../shared/config/settingTypes';
import {
  evaluateDeployment,
  evaluateParamFile,
  isObject,
  show,
  Unknown,
  type DeploymentSource,
  type Value,
} from './bicepDeployment';
import { checkWorkbook } from './workbookCheck';

export const dataverseAuthModes = ['managedIdentity', 'clientSecret', 'clientCertificate'] as const;
/** Dataverse service protection: concurrent requests per user (the app's one application user) per web server. */
export const dataverseConcurrencyLimit = 52;

export interface InfraSources extends DeploymentSource {
  /** functions/*.ts: file name -> source. */
  functions: Record<string, string>;
  hostJson: string;
}

const definitions = new Map<string, SettingDefinition>(
  Object.values(settingsSections).flatMap((s) => Object.entries(s.definitions)),
);
const defaultOf = (name: string): unknown => {
  const parsed = definitions.get(name)?.schema.safeParse(undefined);
  return parsed?.success ? parsed.data : undefined;
};
/** Required: the schema rejects it absent (no default, not optional). */
export const requiredSettings = (): string[] =>
  [...definitions].filter(([, d]) => !d.schema.safeParse(undefined).success).map(([n]) => n);

type NameKind = 'container' | 'queue' | 'table';
export function nameSettings(): { name: string; kind: NameKind }[] {
  const kinds: [RegExp, NameKind][] = [
    [/^a blob container name/, 'container'],
    [/^a queue name/, 'queue'],
    [/^a table name/, 'table'],
  ];
  return [...definitions].flatMap(([name, d]) => {
    const kind = kinds.find(([re]) => re.test(d.expected))?.[1];
    return kind ? [{ name, kind }] : [];
  });
}

/** Where each name setting lands in the typed settings (`loads.chunkQueue`), found by parsing marker values. */
function settingPaths(): Map<string, string> {
  const env: Record<string, string> = {
    DATAVERSE_URL: 'https://contoso.crm.dynamics.com',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  };
  const markers = new Map<string, string>();
  nameSettings().forEach(({ name }, i) => {
    env[name] = `zmarker${i}x`;
    markers.set(`zmarker${i}x`, name);
  });
  const paths = new Map<string, string>();
  for (const [section, values] of Object.entries(loadSettings(env))) {
    for (const [key, value] of Object.entries(values as unknown as Record<string, unknown>)) {
      if (typeof value === 'string' && markers.has(value)) paths.set(`${section}.${key}`, markers.get(value)!);
    }
  }
  return paths;
}

/** Values that stand for what only Azure knows, tried in order against each setting's own schema. */
const samples = [
  'https://sample.example.com',
  '00000000-0000-4000-8000-000000000000',
  'managedidentity',
  'sampleaccount1',
  '1',
  'sample-value',
  'InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint=https://sample.example.com/',
  'ClientId=00000000-0000-4000-8000-000000000000;Authorization=AAD',
];

const knownString = (v: Value | undefined): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : undefined;

interface Trigger {
  fn: string;
  file: string;
  kind: 'queue' | 'blob';
  expression: string;
  options: string;
}

function registrations(sources: InfraSources): Trigger[] {
  const found: Trigger[] = [];
  for (const [file, text] of Object.entries(sources.functions)) {
    const re = /app\.storage(Queue|Blob)\(\s*['"]([^'"]+)['"]\s*,\s*\{/g;
    for (let m; (m = re.exec(text));) {
      let depth = 1;
      let i = re.lastIndex;
      while (i < text.length && depth > 0) {
        if (text[i] === '{') depth++;
        if (text[i] === '}') depth--;
        i++;
      }
      const options = text.slice(re.lastIndex, i - 1);
      const key = m[1] === 'Queue' ? 'queueName' : 'path';
      const value = new RegExp(`\\b${key}\\s*:\\s*([^,\\n]+?)\\s*(?:,|\\n|$)`).exec(options)?.[1] ?? '';
      found.push({ fn: m[2]!, file, kind: m[1] === 'Queue' ? 'queue' : 'blob', expression: value, options });
    }
  }
  return found;
}

export function checkInfra(
  sources: InfraSources,
  infraDir: string,
  extraParams: Record<string, Value> = {},
): string[] {
  const problems: string[] = [];
  const paths = settingPaths();
  for (const mode of dataverseAuthModes) {
    // What the operator supplies (docs/deploy.md): the app registration's client id outside managedIdentity mode.
    const params = {
      environmentName: 'consistency',
      location: 'westeurope',
      dataverseUrl: 'https://contoso.crm.dynamics.com',
      dataverseAuth: mode,
      ...(mode === 'managedIdentity' ? {} : { dataverseClientId: '11111111-1111-4111-8111-111111111111' }),
      ...extraParams,
    };
    const deployment = evaluateDeployment(sources, join(infraDir, 'main.bicep'), params);
    const of = (type: string) =>
      deployment.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase() && !r.existing);
    const at = `[DATAVERSE_AUTH=${mode}]`;

    // ---- app settings ----
    const configs = of('Microsoft.Web/sites/config').filter((r) => isObject(r.body) && r.body.name === 'appsettings');
    if (configs.length !== 1) {
      problems.push(`${at} expected one Microsoft.Web/sites/config 'appsettings' resource, found ${configs.length}`);
      continue;
    }
    const body = configs[0]!.body as Record<string, Value>;
    if (!isObject(body.properties!)) {
      problems.push(`${at} the appsettings properties are not an object known before deployment`);
      continue;
    }
    const settings = body.properties;
    for (const name of requiredSettings()) {
      if (!(name in settings) || settings[name] === '')
        problems.push(
          `${at} required setting ${name} (no default in shared/config) is not set in the function app's appsettings`,
        );
    }
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(settings)) {
      if (value instanceof Unknown) {
        const definition = definitions.get(name);
        // JSON with parts known only to Azure comes rendered with sample GUIDs (bicepDeployment's string()).
        const rendered = value.text !== undefined && /^[[{]/.test(value.text) ? value.text : undefined;
        const sample =
          rendered ??
          (definition ? samples.find((s) => definition.schema.safeParse(s).success) : 'sample-value');
        if (sample === undefined)
          problems.push(`${at} ${name} is set to a value only Azure knows and no sample value fits its schema`);
        else env[name] = sample;
      } else if (typeof value === 'string') env[name] = value;
      else problems.push(`${at} app setting ${name} is not a string (${show(value)})`);
      const definition = definitions.get(name);
      const text = value instanceof Unknown ? (value.text ?? '') : typeof value === 'string' ? value : '';
      if (definition?.secret && text !== '' && !text.startsWith('@Microsoft.KeyVault(')) {
        problems.push(
          `${at} secret setting ${name} must be a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)), not a value in the app settings`,
        );
      }
    }
    let identities = 1;
    try {
      identities = loadSettings(env).dataverse.identities.length;
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      for (const p of error.problems)
        problems.push(`${at} the app settings fail the configuration schema: ${p.message}`);
    }

    // ---- HTTP body limits ----
    // The host refuses bodies over FUNCTIONS_REQUEST_BODY_SIZE_LIMIT (100 MiB unset) before the app's limits apply.
    const hostBodyLimit = Number(env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT ?? 104857600);
    for (const name of ['LOAD_MAX_FILE_BYTES', 'IMPORTS_MAX_BODY_BYTES']) {
      const appLimit = Number(env[name] ?? defaultOf(name));
      if (!(appLimit <= hostBodyLimit))
        problems.push(
          `${at} ${name} ${appLimit} > FUNCTIONS_REQUEST_BODY_SIZE_LIMIT ${hostBodyLimit}: the host refuses uploads the app accepts`,
        );
    }

    // ---- storage resources ----
    const created: Record<NameKind, Set<string>> = { container: new Set(), queue: new Set(), table: new Set() };
    const types: Record<NameKind, string> = {
      container: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      queue: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      table: 'Microsoft.Storage/storageAccounts/tableServices/tables',
    };
    for (const kind of Object.keys(types) as NameKind[])
      for (const r of of(types[kind]))
        if (isObject(r.body) && typeof r.body.name === 'string') created[kind].add(r.body.name);
    const effective = (name: string): string | undefined => {
      const value = settings[name];
      if (value instanceof Unknown) return undefined;
      return knownString(value) ?? (defaultOf(name) as string | undefined);
    };
    const need = (kind: NameKind, name: string, why: string) => {
      if (!created[kind].has(name))
        problems.push(
          `${at} ${kind} '${name}' (${why}) is not created in infra/ (created ${kind}s: ${[...created[kind]].join(', ') || 'none'})`,
        );
    };
    for (const { name, kind } of nameSettings()) {
      const value = effective(name);
      if (value === undefined)
        problems.push(`${at} ${name} names a ${kind} but its value is known only at deployment; use a parameter`);
      else need(kind, value, `setting ${name}`);
    }

    // ---- function registrations ----
    const resolve = (expression: string, file: string, seen = 0): string | undefined => {
      const e = expression.trim();
      if (seen > 5) return undefined;
      const literal = /^(['"])([^'"]*)\1$/.exec(e);
      if (literal) {
        const percent = /^%([A-Za-z0-9_]+)%$/.exec(literal[2]!);
        if (percent) return knownString(settings[percent[1]!]);
        return literal[2];
      }
      const envRead = /^process\.env\.([A-Za-z0-9_]+)\s*(?:\|\||\?\?)\s*(['"])([^'"]*)\2$/.exec(e);
      if (envRead) return knownString(settings[envRead[1]!]) ?? envRead[3];
      const template = /^`([^`]*)`$/.exec(e);
      if (template) {
        let ok = true;
        const text = template[1]!.replace(
          /\$\{([^}]+)\}/g,
          (_m, inner: string) => resolve(inner, file, seen + 1) ?? ((ok = false), ''),
        );
        return ok ? text : undefined;
      }
      const identifier = /^[A-Za-z_$][\w$]*$/.exec(e);
      if (identifier) {
        const declaration = new RegExp(`(?:const|let)\\s+${e}\\s*=\\s*([^;\\n]+)`).exec(sources.functions[file] ?? '');
        return declaration ? resolve(declaration[1]!, file, seen + 1) : undefined;
      }
      const settingPath = [...paths.keys()].find((p) => e.endsWith(`.${p}`));
      if (settingPath) return effective(paths.get(settingPath)!);
      return undefined;
    };
    const triggers = registrations(sources);
    const blobTriggers = new Map<string, string>();
    for (const t of triggers) {
      const where = `${t.file} ${t.fn}`;
      const value = resolve(t.expression, t.file);
      if (value === undefined) {
        problems.push(
          `${at} ${where}: cannot resolve ${t.kind === 'queue' ? 'queueName' : 'path'} ${t.expression || '(missing)'}; use a literal, '%SETTING%', process.env.SETTING || 'default', or a settings property`,
        );
        continue;
      }
      const connection = /\bconnection\s*:\s*['"]([^'"]+)['"]/.exec(t.options)?.[1] ?? 'AzureWebJobsStorage';
      if (
        connection !== 'AzureWebJobsStorage' &&
        !Object.keys(settings).some((k) => k === connection || k.startsWith(`${connection}__`))
      ) {
        problems.push(
          `${at} ${where}: connection '${connection}' has no ${connection} or ${connection}__* app setting`,
        );
      }
      if (t.kind === 'queue') {
        need('queue', value, `trigger of ${where}`);
        need('queue', `${value}-poison`, `poison queue of ${where}`);
      } else {
        const container = value.split('/')[0]!;
        need('container', container, `trigger of ${where}`);
        need('queue', 'webjobs-blobtrigger-poison', `poison queue of blob trigger ${where}`);
        if (!/\bsource\s*:\s*['"]EventGrid['"]/.test(t.options)) {
          problems.push(
            `${at} ${where}: blob trigger must set source: 'EventGrid' (Flex Consumption runs only Event Grid–sourced blob triggers)`,
          );
        }
        if (!/\bsdkBinding\s*:\s*true\b/.test(t.options)) {
          problems.push(
            `${at} ${where}: blob trigger must set sdkBinding: true (bound by reference; otherwise the host hands the whole file to the worker)`,
          );
        }
        blobTriggers.set(t.fn, container);
      }
    }

    // ---- Event Grid subscriptions (postdeploy) ----
    const environment: Record<string, Value> = { ...deployment.outputs };
    const paramFile = evaluateParamFile(sources, join(infraDir, 'eventgrid', 'subscriptions.bicepparam'), environment);
    const subscriptionDeployment = evaluateDeployment(sources, paramFile.template, paramFile.params, environment);
    const subscribed = new Map<string, string>();
    for (const s of subscriptionDeployment.resources.filter(
      (r) => r.type === 'Microsoft.EventGrid/systemTopics/eventSubscriptions' && !r.existing,
    )) {
      const props = isObject(s.body) && isObject(s.body.properties!) ? s.body.properties : {};
      const url = show(
        ((props.destination as Record<string, Value>)?.properties as Record<string, Value>)?.endpointUrl ?? '',
      );
      const fn = /\/runtime\/webhooks\/blobs\?functionName=Host\.Functions\.([A-Za-z0-9_]+)/.exec(url)?.[1];
      const filter = isObject(props.filter ?? {}) ? (props.filter as Record<string, Value>) : {};
      const container = /^\/blobServices\/default\/containers\/([^/]+)\//.exec(
        knownString(filter.subjectBeginsWith) ?? '',
      )?.[1];
      const types = Array.isArray(filter.includedEventTypes) ? filter.includedEventTypes : [];
      if (!fn || !container) {
        problems.push(
          `${at} event subscription ${show(isObject(s.body) ? (s.body.name ?? '') : '')}: needs a blobs webhook URL naming the function and a subjectBeginsWith of one container`,
        );
        continue;
      }
      if (!types.includes('Microsoft.Storage.BlobCreated'))
        problems.push(`${at} event subscription for ${fn} does not include Microsoft.Storage.BlobCreated`);
      subscribed.set(fn, container);
    }
    for (const [fn, container] of blobTriggers) {
      if (subscribed.get(fn) !== container)
        problems.push(
          `${at} blob trigger ${fn} on '${container}' has no Event Grid subscription in infra/eventgrid/subscriptions.bicep (found: ${subscribed.has(fn) ? `'${subscribed.get(fn)}'` : 'none'})`,
        );
    }
    for (const [fn, container] of subscribed) {
      if (!blobTriggers.has(fn))
        problems.push(
          `${at} Event Grid subscription to ${fn} on '${container}' has no blob trigger named ${fn} in functions/ (the webhook validation would fail)`,
        );
    }

    // ---- platform and scale ----
    const site = of('Microsoft.Web/sites')[0];
    const siteProps = site && isObject(site.body) && isObject(site.body.properties!) ? site.body.properties : undefined;
    const fac =
      siteProps && isObject(siteProps.functionAppConfig ?? {})
        ? (siteProps.functionAppConfig as Record<string, Value>)
        : undefined;
    const runtime = fac?.runtime as Record<string, Value> | undefined;
    if (!runtime || runtime.name !== 'node' || runtime.version !== '22')
      problems.push(`${at} the function app must be Flex Consumption (functionAppConfig) with runtime node 22`);
    const maxInstances = (fac?.scaleAndConcurrency as Record<string, Value> | undefined)?.maximumInstanceCount;
    const perInstance = Number(
      knownString(settings.DATAVERSE_MAX_CONCURRENCY) ?? defaultOf('DATAVERSE_MAX_CONCURRENCY'),
    );
    // Limits are per user: each identity may have 52 in flight, so instances x concurrency <= 52 x identities,
    // where an instance's concurrency is DATAVERSE_MAX_CONCURRENCY (a per-identity cap) for each of its identities.
    if (typeof maxInstances !== 'number') problems.push(`${at} maximumInstanceCount must be known before deployment`);
    else if (maxInstances * perInstance * identities > dataverseConcurrencyLimit * identities) {
      problems.push(
        `${at} ${maxInstances} instances x DATAVERSE_MAX_CONCURRENCY ${perInstance} x ${identities} identities = ${maxInstances * perInstance * identities} concurrent requests > Dataverse's ${dataverseConcurrencyLimit} per user x ${identities} identities`,
      );
    }
    const hostQueues =
      (JSON.parse(sources.hostJson) as { extensions?: { queues?: Record<string, number> } }).extensions?.queues ?? {};
    const hostValue = (key: string, fallback: number) =>
      Number(knownString(settings[`AzureFunctionsJobHost__extensions__queues__${key}`]) ?? hostQueues[key] ?? fallback);
    // The host fetches batchSize messages whenever no more than newBatchThreshold run: under the client's cap, its
    // request slots drain to the threshold before more work comes; a batch over half the cap leaves more messages
    // waiting for a slot (holding their leases) than that.
    const slots = perInstance * identities;
    const batchSize = hostValue('batchSize', 16);
    const threshold = hostValue('newBatchThreshold', batchSize / 2);
    if (threshold < slots)
      problems.push(
        `${at} queue newBatchThreshold ${threshold} < DATAVERSE_MAX_CONCURRENCY ${perInstance} x ${identities} identities: request slots idle while the next batch is fetched`,
      );
    if (batchSize > Math.max(1, Math.ceil(slots / 2)))
      problems.push(
        `${at} queue batchSize ${batchSize} > half of DATAVERSE_MAX_CONCURRENCY ${perInstance} x ${identities} identities: that many messages wait for a request slot`,
      );
    const storage = of('Microsoft.Storage/storageAccounts')[0];
    if (
      !storage ||
      !isObject(storage.body) ||
      (storage.body.properties as Record<string, Value>)?.allowSharedKeyAccess !== false
    )
      problems.push(`${at} the storage account must set allowSharedKeyAccess: false`);
    const roles = of('Microsoft.Authorization/roleAssignments').map((r) =>
      show(((isObject(r.body) ? r.body.properties : {}) as Record<string, Value>)?.roleDefinitionId ?? ''),
    );
    const neededRoles: [string, string][] = [
      ['Storage Blob Data Owner', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'],
      ['Storage Queue Data Contributor', '974c5e8b-45b9-4653-ba55-5f855dd0fb88'],
      ['Storage Table Data Contributor', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'],
      ['Monitoring Metrics Publisher', '3913510d-42f4-4e42-8a64-420c390055eb'],
      ...(mode !== 'managedIdentity'
        ? [['Key Vault Secrets User', '4633458b-17de-408a-b874-0445c86b69e6'] as [string, string]]
        : []),
    ];
    for (const [role, id] of neededRoles)
      if (!roles.some((r) => r.endsWith(`/${id}`))) problems.push(`${at} no role assignment of ${role} (${id})`);

    // ---- observability ----
    problems.push(...checkWorkbook(deployment.resources, at));
  }
  return [...new Set(problems)];
}
