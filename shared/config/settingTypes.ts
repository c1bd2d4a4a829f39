import { z } from 'zod';
import { SecretValue } from './secretValue';

/**
 * One app setting: its zod schema (input is the raw environment string), the description that
 * README.md's Configuration section mirrors, and the expectation printed when the value is missing or malformed.
 * Error messages are built from `expected`, never from the value, so secrets cannot leak through them.
 */
export interface SettingDefinition<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly description: string;
  readonly expected: string;
  readonly secret?: boolean;
}

export function setting<S extends z.ZodType>(
  schema: S,
  doc: { description: string; expected: string; secret?: boolean },
): SettingDefinition<S> {
  return { schema: schema.describe(doc.description), ...doc };
}

export type SectionDefinitions = Record<string, SettingDefinition>;
export type SectionValues<D extends SectionDefinitions> = { [K in keyof D]: z.output<D[K]['schema']> };

export interface SettingsSection<D extends SectionDefinitions = SectionDefinitions, Out = unknown> {
  readonly definitions: D;
  readonly schema: z.ZodType<Out>;
}

/**
 * A group of settings with its own mapping to the typed shape the code uses. `build` may report
 * cross-setting problems with `reportSettingProblem(ctx, SETTING_NAME, message)`; `others` holds every other
 * present setting as text, for settings that name another setting (a secret kept in its own Key Vault reference).
 */
export function defineSection<const D extends SectionDefinitions, Out>(
  definitions: D,
  build: (values: SectionValues<D>, ctx: z.RefinementCtx, others: Readonly<Record<string, unknown>>) => Out,
): SettingsSection<D, Out> {
  const shape = Object.fromEntries(Object.entries(definitions).map(([name, d]) => [name, d.schema]));
  const schema = z
    .looseObject(shape)
    .transform((values, ctx) => build(values as SectionValues<D>, ctx, values)) as unknown as z.ZodType<Out>;
  return { definitions, schema };
}

// ---- reusable value kinds -------------------------------------------------------------------

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const guid = () => z.string().regex(guidPattern);

export function integerInRange(min: number, max: number) {
  return z
    .string()
    .regex(/^\s*\d+\s*$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values);
}

export const secretString = () =>
  z
    .string()
    .min(1)
    .transform((value) => new SecretValue(value));

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or plain http only towards the local machine (emulator, local identity, test webhooks). */
export function httpsUrl(options: { originOnly?: boolean } = {}) {
  return z.string().refine((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return false;
    }
    const protocolOk = url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
    const shapeOk = !options.originOnly || ((url.pathname === '/' || url.pathname === '') && !url.search && !url.hash);
    return protocolOk && shapeOk && !url.username && !url.password;
  });
}

/** Blob container and queue names: 3-63 of a-z 0-9 '-', starting with a letter or digit, no '--', no trailing '-'. */
export const containerOrQueueName = () => z.string().regex(/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/);

/** Table names: 3-63 alphanumerics, starting with a letter. */
export const tableName = () => z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/);

/** Reports a cross-setting problem; `message` must name the setting and never include a value. */
export function reportSettingProblem(ctx: z.RefinementCtx, setting: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [setting], message, params: { settingProblem: true } });
}
