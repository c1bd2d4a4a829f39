import { inspect } from 'node:util';
import { loadSettings, SecretValue, SettingsError } from '../../../shared/config/settings';
import { telemetrySettingsFrom } from '../../../shared/config/sections/telemetry';

const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', DATAVERSE_URL: 'https://contoso.crm.dynamics.com' };
const connectionString =
  'InstrumentationKey=0f3c1d2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';
const clientId = '51f81489-12ee-4a9e-aaae-a2591f45987d';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadSettings({ ...base, ...env });
  } catch (error) {
    if (error instanceof SettingsError) return error.problems.map((p) => p.message);
    throw error;
  }
  throw new Error('expected loadSettings to fail');
}

describe('telemetry settings', () => {
  test('off when nothing is set', () => {
    expect(loadSettings(base).telemetry).toEqual({ export: { kind: 'off' } });
    expect(telemetrySettingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual({ export: { kind: 'off' } });
  });

  test('Application Insights with Entra auth of a user-assigned identity, as infra/ sets it', () => {
    const { export: target } = loadSettings({
      ...base,
      APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${clientId};Authorization=AAD`,
    }).telemetry;
    expect(target).toMatchObject({ kind: 'azureMonitor', entraAuth: true, managedIdentityClientId: clientId });
    const value = (target as { connectionString: SecretValue }).connectionString;
    expect(value.reveal()).toBe(connectionString);
    expect(inspect(target)).not.toContain('InstrumentationKey');
  });

  test('Authorization=AAD alone is the system-assigned identity; no authentication string is local auth', () => {
    expect(
      telemetrySettingsFrom({
        APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      }).export,
    ).toMatchObject({ kind: 'azureMonitor', entraAuth: true });
    const local = telemetrySettingsFrom({ APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString }).export;
    expect(local).toMatchObject({ kind: 'azureMonitor', entraAuth: false });
    expect(local).not.toHaveProperty('managedIdentityClientId');
  });

  test('Application Insights wins over OTLP, OTLP over the test file', () => {
    const all = {
      APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      TELEMETRY_TEST_EXPORT_FILE: '/tmp/t.json',
    };
    expect(telemetrySettingsFrom(all).export.kind).toBe('azureMonitor');
    expect(telemetrySettingsFrom({ ...all, APPLICATIONINSIGHTS_CONNECTION_STRING: '' }).export).toEqual({
      kind: 'otlp',
      endpoint: 'http://localhost:4318',
    });
    expect(telemetrySettingsFrom({ TELEMETRY_TEST_EXPORT_FILE: '/tmp/t.json' }).export).toEqual({
      kind: 'memory',
      file: '/tmp/t.json',
    });
  });

  test('malformed values are named, never echoed', () => {
    const problems = problemsOf({
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'not-a-connection-string-s3cr3t',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=nope;Authorization=AAD',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example.com:4318',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'APPLICATIONINSIGHTS_CONNECTION_STRING is invalid: expected an Application Insights connection string (InstrumentationKey=…;IngestionEndpoint=…)',
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING is invalid: expected Authorization=AAD, optionally with ClientId=<guid>;',
        'OTEL_EXPORTER_OTLP_ENDPOINT is invalid: expected an https URL (plain http only for localhost/127.0.0.1)',
      ]),
    );
    expect(problems.join('\n')).not.toMatch(/s3cr3t|nope|collector\.example/);
    expect(problemsOf({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key' })).toHaveLength(1);
  });
});
