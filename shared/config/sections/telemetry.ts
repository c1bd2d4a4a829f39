import { z } from 'zod';
import { SecretValue } from '../secretValue';
import { defineSection, guid, httpsUrl, reportSettingProblem, setting } from '../settingTypes';

/**
 * Where the worker's OpenTelemetry goes: Application Insights (the Azure Monitor distro) when its connection
 * string is set, else an OTLP collector, else nowhere (no SDK is started, so telemetry costs nothing).
 */
export type TelemetryExport =
  | { kind: 'azureMonitor'; connectionString: SecretValue; managedIdentityClientId?: string; entraAuth: boolean }
  | { kind: 'otlp'; endpoint: string }
  | { kind: 'memory'; file: string }
  | { kind: 'off' };

export interface TelemetrySettings {
  export: TelemetryExport;
}

/** `Authorization=AAD` or `ClientId=<guid>;Authorization=AAD` (the Functions host's format, set by infra/). */
const authenticationString = z.string().transform((text, ctx) => {
  const parts = new Map(
    text
      .split(';')
      .filter((p) => p.trim() !== '')
      .map((p) => {
        const at = p.indexOf('=');
        return [p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim()] as const;
      }),
  );
  const clientId = parts.get('clientid');
  if (
    parts.get('authorization')?.toUpperCase() !== 'AAD' ||
    (clientId !== undefined && !guid().safeParse(clientId).success)
  ) {
    reportSettingProblem(
      ctx,
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING is invalid: expected Authorization=AAD, optionally with ClientId=<guid>;',
    );
    return z.NEVER;
  }
  return { clientId };
});

export const telemetrySection = defineSection(
  {
    APPLICATIONINSIGHTS_CONNECTION_STRING: setting(
      z
        .string()
        .regex(/InstrumentationKey=/i)
        .transform((value) => new SecretValue(value))
        .optional(),
      {
        description:
          'Application Insights connection string. When set, the worker sends its traces, metrics and logs there with the Azure Monitor OpenTelemetry distro (docs/observability.md). Unset: no telemetry SDK is started. Not a secret for Microsoft (with local auth off, ingestion needs Entra), but never logged or exported.',
        expected: 'an Application Insights connection string (InstrumentationKey=…;IngestionEndpoint=…)',
      },
    ),
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: setting(authenticationString.optional(), {
      description:
        'Microsoft Entra authentication of the telemetry exporter: Authorization=AAD uses the system-assigned managed identity, ClientId=<guid>;Authorization=AAD a user-assigned one (needs Monitoring Metrics Publisher on the component). Unset: the connection string alone (local auth).',
      expected: 'Authorization=AAD, optionally with ClientId=<guid>;',
    }),
    OTEL_EXPORTER_OTLP_ENDPOINT: setting(httpsUrl().optional(), {
      description:
        'Base URL of an OTLP/HTTP collector (e.g. http://localhost:4318) that receives traces, metrics and logs when APPLICATIONINSIGHTS_CONNECTION_STRING is not set. The other OTEL_EXPORTER_OTLP_* variables (headers, timeouts) are read by the exporters.',
      expected: 'an https URL (plain http only for localhost/127.0.0.1)',
    }),
    TELEMETRY_TEST_EXPORT_FILE: setting(z.string().min(1).optional(), {
      description:
        'Tests and the bench only: keep telemetry in the OpenTelemetry SDK in-memory exporters and write what they hold to this JSON file when the worker stops. Ignored when either exporter above is configured.',
      expected: 'a file path',
    }),
  },
  (v): TelemetrySettings => {
    if (v.APPLICATIONINSIGHTS_CONNECTION_STRING) {
      const clientId = v.APPLICATIONINSIGHTS_AUTHENTICATION_STRING?.clientId;
      return {
        export: {
          kind: 'azureMonitor',
          connectionString: v.APPLICATIONINSIGHTS_CONNECTION_STRING,
          entraAuth: v.APPLICATIONINSIGHTS_AUTHENTICATION_STRING !== undefined,
          ...(clientId ? { managedIdentityClientId: clientId } : {}),
        },
      };
    }
    if (v.OTEL_EXPORTER_OTLP_ENDPOINT) return { export: { kind: 'otlp', endpoint: v.OTEL_EXPORTER_OTLP_ENDPOINT } };
    if (v.TELEMETRY_TEST_EXPORT_FILE) return { export: { kind: 'memory', file: v.TELEMETRY_TEST_EXPORT_FILE } };
    return { export: { kind: 'off' } };
  },
);

/**
 * The telemetry settings alone, for the worker's first module (functions/telemetry.ts): telemetry starts before
 * the other settings are read, and must not depend on them.
 */
export function telemetrySettingsFrom(env: Record<string, string | undefined>): TelemetrySettings {
  const values = Object.fromEntries(
    Object.entries(env)
      .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '')
      .map(([name, value]) => [name, value.trim()]),
  );
  return telemetrySection.schema.parse(values);
}
