/** DATAVERSE_IDENTITIES and DATAVERSE_DAILY_REQUEST_BUDGET (issue 17): parsed into the pool, refused by name. */
import { loadSettings, SettingsError } from '../../../shared/config/settings';

const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', DATAVERSE_URL: 'https://contoso.crm.dynamics.com' };
const app = {
  DATAVERSE_TENANT_ID: 'contoso.onmicrosoft.com',
  DATAVERSE_CLIENT_ID: '11111111-1111-4111-8111-111111111111',
  DATAVERSE_CLIENT_SECRET: 'default-secret',
};
const mi2 = '22222222-2222-4222-8222-222222222222';
const app3 = '33333333-3333-4333-8333-333333333333';

function messages(env: Record<string, string>): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems.map((p) => p.message);
    throw error;
  }
  throw new Error('expected loadSettings to fail');
}

test('the default identity comes first, then each entry, with secrets read from the settings they name', () => {
  const s = loadSettings({
    ...base,
    ...app,
    DATAVERSE_IDENTITIES: JSON.stringify([
      { name: 'loader-2', auth: 'managedIdentity', clientId: mi2 },
      { name: 'loader-3', auth: 'clientSecret', clientId: app3, secretSetting: 'LOADER3_SECRET' },
    ]),
    LOADER3_SECRET: 'the-third-secret',
  });
  const names = s.dataverse.identities.map((i) => i.name);
  expect(names).toEqual(['default', 'loader-2', 'loader-3']);
  expect(s.dataverse.identities[1]!.auth).toEqual({ mode: 'managedIdentity', clientId: mi2 });
  const third = s.dataverse.identities[2]!.auth;
  expect(third).toMatchObject({ mode: 'clientSecret', clientId: app3, tenantId: 'contoso.onmicrosoft.com' });
  if (third.mode !== 'clientSecret') throw new Error('clientSecret expected');
  expect(third.clientSecret.reveal()).toBe('the-third-secret');
  // The secret prints as [secret] wherever the settings are logged.
  expect(JSON.stringify(s.dataverse.identities)).not.toContain('the-third-secret');
});

test('problems name the setting, the identity and the field, never a value', () => {
  const problems = messages({
    ...base,
    ...app,
    DATAVERSE_IDENTITIES: JSON.stringify([
      { name: 'loader-2', auth: 'clientSecret', clientId: mi2, secretSetting: 'MISSING_SECRET' },
      { name: 'loader-3', auth: 'clientSecret', clientId: app3, secret: 'inline-secret-value' },
      { name: 'default', auth: 'managedIdentity', clientId: '44444444-4444-4444-8444-444444444444' },
      { name: 'twin', auth: 'managedIdentity', clientId: app.DATAVERSE_CLIENT_ID },
      { name: 'bad id', auth: 'managedIdentity', clientId: 'nope' },
    ]),
  });
  const text = problems.join('\n');
  expect(text).toContain(
    "DATAVERSE_IDENTITIES: identity 'loader-2' (entry 1): secretSetting names MISSING_SECRET, which is not set",
  );
  expect(text).toContain(
    "identity 'loader-3' (entry 2): unknown field secret: a secret or certificate goes in its own app setting",
  );
  expect(text).toContain("identity 'default' (entry 3): the name 'default' is the DATAVERSE_AUTH identity's");
  expect(text).toContain("identity 'twin' (entry 4): clientId is also identity 'default''s");
  expect(text).toContain("identity 'bad id' (entry 5): name is invalid");
  expect(text).toContain("identity 'bad id' (entry 5): clientId is invalid: expected a GUID");
  expect(text).not.toContain('inline-secret-value');
  expect(text).not.toContain('default-secret');
});

test('not JSON, or not an array, is refused naming the setting and the expected shape', () => {
  expect(messages({ ...base, DATAVERSE_IDENTITIES: '{oops' })[0]).toMatch(
    /^DATAVERSE_IDENTITIES is not valid JSON: expected a JSON array of/,
  );
  expect(messages({ ...base, DATAVERSE_IDENTITIES: '{"name":"x"}' })[0]).toMatch(
    /^DATAVERSE_IDENTITIES is invalid: expected a JSON array of/,
  );
});

test('a certificate identity takes exactly one of certificateSetting or certificatePath', () => {
  const problems = messages({
    ...base,
    ...app,
    DATAVERSE_IDENTITIES: JSON.stringify([{ name: 'cert', auth: 'clientCertificate', clientId: app3 }]),
  });
  expect(problems).toEqual([
    "DATAVERSE_IDENTITIES: identity 'cert' (entry 1): expected exactly one of certificateSetting or certificatePath when auth is clientCertificate",
  ]);
});

test('the daily request budget is optional and validated', () => {
  expect(loadSettings(base).dataverse.dailyRequestBudget).toBeUndefined();
  expect(loadSettings({ ...base, DATAVERSE_DAILY_REQUEST_BUDGET: '250000' }).dataverse.dailyRequestBudget).toBe(250000);
  expect(messages({ ...base, DATAVERSE_DAILY_REQUEST_BUDGET: 'lots' })).toEqual([
    'DATAVERSE_DAILY_REQUEST_BUDGET is invalid: expected an integer from 1 to 1000000000',
  ]);
});
