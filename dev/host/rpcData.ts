import { randomUUID } from 'node:crypto';
import type { RpcTypedData } from './coreApi';

/**
 * The host's side of the RPC data contract (host `GrpcMessageConversionExtensions.ToRpc`): strings go as `string`
 * (the library then tries JSON.parse), byte arrays as `bytes`, everything else through JSON serialization as `json`.
 * Pure functions.
 */
export const rpcString = (value: string): RpcTypedData => ({ string: value });
export const rpcJson = (value: unknown): RpcTypedData => ({ json: JSON.stringify(value) });
export const rpcBytes = (value: Uint8Array): RpcTypedData => ({ bytes: value });

/**
 * Bytes handed over without a copy: the library turns `bytes` into a Buffer with `Buffer.from(bytes)`, which
 * copies a Uint8Array but only wraps an ArrayBuffer. In the real host the bytes live in another process; here
 * host and worker share one, so a copy would hold the content twice (a whole blob, for blob triggers).
 * Falls back to the copying form when the Buffer is a view on a larger (pooled) ArrayBuffer.
 */
export function rpcBytesShared(value: Uint8Array): RpcTypedData {
  const whole =
    value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer;
  return whole ? { bytes: value.buffer as unknown as Uint8Array } : rpcBytes(value);
}

/** How Newtonsoft writes a DateTimeOffset in UTC: `2019-10-16T17:58:31+00:00` (fraction only when non-zero). */
export function dotnetDate(date: Date): string {
  const iso = date.toISOString();
  return iso.replace(/\.000Z$/, '+00:00').replace(/Z$/, '+00:00');
}

/** `sys` binding data every trigger gets (doc: custom-handler request payload). */
export function sysMetadata(methodName: string, now = new Date()): RpcTypedData {
  return rpcJson({ MethodName: methodName, UtcNow: dotnetDate(now), RandGuid: randomUUID() });
}

export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Converts output typed data back to a value the host writes (queue/blob/table outputs). */
export function fromRpcOutput(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (data.int !== undefined && data.int !== null) return data.int;
  if (data.double !== undefined && data.double !== null) return data.double;
  return undefined;
}

export class BindingExpressionError extends Error {
  readonly code = 'BindingExpressionUnresolved';
}

/**
 * Resolves `%AppSetting%` from settings and `{name}` from trigger binding data (case-insensitive, dotted paths),
 * plus the built-ins `{rand-guid}` and `{DateTime}`. `{{`/`}}` are literal braces.
 */
export function resolveBindingExpression(
  template: string,
  bindingData: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const withSettings = template.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined)
      throw new BindingExpressionError(`App setting '${name}' used in '${template}' is not set.`);
    return value;
  });
  return withSettings
    .replace(/\{\{/g, '\u0000')
    .replace(/\}\}/g, '\u0001')
    .replace(/\{([^{}]+)\}/g, (_, expression: string) => {
      const key = expression.trim();
      if (key.toLowerCase() === 'rand-guid') return randomUUID();
      if (key.toLowerCase() === 'datetime') return new Date().toISOString();
      const value = lookup(bindingData, key);
      if (value === undefined || value === null)
        throw new BindingExpressionError(`No value for binding expression '{${key}}' in '${template}'.`);
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
    })
    .replaceAll('\u0000', '{')
    .replaceAll('\u0001', '}');
}

function lookup(data: Record<string, unknown>, path: string): unknown {
  let current: unknown = data;
  for (const part of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    const entry = Object.entries(current as Record<string, unknown>).find(
      ([k]) => k.toLowerCase() === part.toLowerCase(),
    );
    current = entry?.[1];
  }
  return current;
}

/** Queue message text ↔ bytes under host.json `messageEncoding`. */
export function decodeQueueMessage(text: string, encoding: 'base64' | 'none'): Buffer {
  if (encoding === 'none') return Buffer.from(text, 'utf8');
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new QueueMessageEncodingError(
      `The queue message is not valid base64 (host.json extensions.queues.messageEncoding is 'base64').`,
    );
  }
  return Buffer.from(compact, 'base64');
}

export function encodeQueueMessage(body: Uint8Array | string, encoding: 'base64' | 'none'): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

export class QueueMessageEncodingError extends Error {
  readonly code = 'QueueMessageEncoding';
}
