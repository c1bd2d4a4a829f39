/**
 * `DATAVERSE_IDENTITIES`: further application users for one environment, beside the default identity of the
 * DATAVERSE_AUTH… settings. Service protection limits are per user, so each identity brings its own budget
 * (issue 17). A secret or certificate never sits in this JSON: the entry names the app setting that holds it,
 * which in Azure is a Key Vault reference (a reference can only be a whole setting's value).
 */
import { z } from 'zod';
import { SecretValue } from '../secretValue';
import { guid, reportSettingProblem } from '../settingTypes';
import type { DataverseAuthSettings } from './dataverse';

/** The identity the DATAVERSE_AUTH… settings describe. */
export const defaultIdentityName = 'default';

export interface DataverseIdentitySettings {
  /** `default` for the DATAVERSE_AUTH… identity, else the entry's name; logs and metrics name identities by it. */
  name: string;
  auth: DataverseAuthSettings;
}

const SETTING = 'DATAVERSE_IDENTITIES';
const identityName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const settingName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(?:__[A-Za-z0-9_]+)*$/);

const entrySchema = z.strictObject({
  name: identityName,
  auth: z.enum(['clientSecret', 'clientCertificate', 'managedIdentity']),
  /** App registration's application id, or the user-assigned managed identity's client id. */
  clientId: guid(),
  /** Default: DATAVERSE_TENANT_ID. */
  tenantId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/)
    .optional(),
  secretSetting: settingName.optional(),
  certificateSetting: settingName.optional(),
  certificatePath: z.string().min(1).optional(),
  certificatePasswordSetting: settingName.optional(),
});

export const identitiesExpected =
  'a JSON array of { "name", "auth": "clientSecret"|"clientCertificate"|"managedIdentity", "clientId", "tenantId"?, "secretSetting"? | "certificateSetting"? | "certificatePath"?, "certificatePasswordSetting"? }';

function fieldProblem(issue: z.core.$ZodIssue): string {
  const field = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return /secret|certificate|password/i.test(keys)
      ? `unknown field ${keys}: a secret or certificate goes in its own app setting (a Key Vault reference in Azure), named by secretSetting, certificateSetting or certificatePasswordSetting`
      : `unknown field ${keys}`;
  }
  const expected: Record<string, string> = {
    name: '1-64 letters, digits, _ . - (starting with a letter or digit)',
    auth: 'clientSecret, clientCertificate or managedIdentity',
    clientId: 'a GUID',
    tenantId: 'a tenant id (GUID) or domain name',
    certificatePath: 'a file path',
  };
  return `${field || 'the entry'} is ${issue.code === 'invalid_type' && /undefined/.test(issue.message) ? 'missing' : 'invalid'}: expected ${expected[field] ?? 'the name of an app setting'}`;
}

interface Context {
  ctx: z.RefinementCtx;
  others: Readonly<Record<string, unknown>>;
  defaultAuth: DataverseAuthSettings;
  tenantId: string | undefined;
  authorityHost: string;
}

/** A setting named by an entry: present and non-empty, as a SecretValue. */
function referenced(c: Context, label: string, field: string, name: string): SecretValue | undefined {
  const value = c.others[name];
  if (typeof value === 'string' && value !== '') return new SecretValue(value);
  reportSettingProblem(
    c.ctx,
    SETTING,
    `${SETTING}: identity ${label}: ${field} names ${name}, which is not set: expected that app setting to hold the ${field === 'secretSetting' ? 'client secret' : field === 'certificateSetting' ? 'PEM (private key and certificate)' : 'passphrase'}`,
  );
  return undefined;
}

function authOf(c: Context, label: string, entry: z.output<typeof entrySchema>): DataverseAuthSettings | undefined {
  const problem = (message: string) => {
    reportSettingProblem(c.ctx, SETTING, `${SETTING}: identity ${label}: ${message}`);
    return undefined;
  };
  if (entry.auth === 'managedIdentity') return { mode: 'managedIdentity', clientId: entry.clientId };
  const tenantId = entry.tenantId ?? c.tenantId;
  if (!tenantId) return problem('tenantId is missing (and DATAVERSE_TENANT_ID is not set): expected a tenant id');
  const app = { authorityHost: c.authorityHost, tenantId, clientId: entry.clientId };
  if (entry.auth === 'clientSecret') {
    if (!entry.secretSetting) return problem('secretSetting is required when auth is clientSecret');
    const secret = referenced(c, label, 'secretSetting', entry.secretSetting);
    return secret ? { mode: 'clientSecret', ...app, clientSecret: secret } : undefined;
  }
  const given = [entry.certificateSetting, entry.certificatePath].filter((v) => v !== undefined).length;
  if (given !== 1)
    return problem('expected exactly one of certificateSetting or certificatePath when auth is clientCertificate');
  const password = entry.certificatePasswordSetting
    ? referenced(c, label, 'certificatePasswordSetting', entry.certificatePasswordSetting)
    : undefined;
  if (entry.certificatePasswordSetting && !password) return undefined;
  let certificate: Extract<DataverseAuthSettings, { mode: 'clientCertificate' }>['certificate'];
  if (entry.certificateSetting) {
    const pem = referenced(c, label, 'certificateSetting', entry.certificateSetting);
    if (!pem) return undefined;
    certificate = { source: 'pem', pem };
  } else certificate = { source: 'path', path: entry.certificatePath! };
  return { mode: 'clientCertificate', ...app, certificate, ...(password ? { certificatePassword: password } : {}) };
}

const clientIdOf = (auth: DataverseAuthSettings): string | undefined => auth.clientId?.toLowerCase();

/** The default identity first, then each entry of DATAVERSE_IDENTITIES; problems name the entry and the field. */
export function parseIdentities(text: string | undefined, c: Context): DataverseIdentitySettings[] | undefined {
  const identities: DataverseIdentitySettings[] = [{ name: defaultIdentityName, auth: c.defaultAuth }];
  if (text === undefined) return identities;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    reportSettingProblem(c.ctx, SETTING, `${SETTING} is not valid JSON: expected ${identitiesExpected}`);
    return undefined;
  }
  if (!Array.isArray(json)) {
    reportSettingProblem(c.ctx, SETTING, `${SETTING} is invalid: expected ${identitiesExpected}`);
    return undefined;
  }
  let ok = true;
  json.forEach((raw: unknown, index) => {
    const rawName = (raw as { name?: unknown } | null)?.name;
    const label = typeof rawName === 'string' ? `'${rawName}' (entry ${index + 1})` : `entry ${index + 1}`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      ok = false;
      for (const issue of parsed.error.issues)
        reportSettingProblem(c.ctx, SETTING, `${SETTING}: identity ${label}: ${fieldProblem(issue)}`);
      return;
    }
    const entry = parsed.data;
    if (identities.some((i) => i.name.toLowerCase() === entry.name.toLowerCase())) {
      ok = false;
      reportSettingProblem(
        c.ctx,
        SETTING,
        entry.name.toLowerCase() === defaultIdentityName
          ? `${SETTING}: identity ${label}: the name '${defaultIdentityName}' is the DATAVERSE_AUTH identity's: expected another name`
          : `${SETTING}: identity ${label}: the name is used twice: expected unique names`,
      );
      return;
    }
    const auth = authOf(c, label, entry);
    if (!auth) {
      ok = false;
      return;
    }
    const twin = identities.find((i) => clientIdOf(i.auth) === entry.clientId.toLowerCase());
    if (twin) {
      ok = false;
      reportSettingProblem(
        c.ctx,
        SETTING,
        `${SETTING}: identity ${label}: clientId is also identity '${twin.name}''s: one application user shares one set of limits, expected a different client`,
      );
      return;
    }
    identities.push({ name: entry.name, auth });
  });
  return ok ? identities : undefined;
}
