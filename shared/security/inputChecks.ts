/**
 * Checks on names and ids that come from outside (blob trigger paths, route parameters, queue messages) before
 * they become blob names, Table Storage keys or parts of a Dataverse URL. Each failure is an `InputRejectedError`
 * whose message names the input and the rule it broke, never echoing more than a short, escaped excerpt.
 */
import { z } from 'zod';
import { LoaderError } from '../errors';

/** An input from outside broke a rule: 400, or 413 for an oversized queue message. */
export class InputRejectedError extends LoaderError {
  override readonly name = 'InputRejectedError';
  constructor(code: string, message: string, statusCode = 400) {
    super(code, message, { statusCode });
  }
}

/** A short printable excerpt of a rejected value (control characters escaped, long values cut). */
export function excerpt(value: string, max = 80): string {
  const shown = JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  return shown;
}

// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a blob path segment (`{table}`, one part of `{name}`) is unsafe, or undefined. */
export function blobSegmentProblem(segment: string, maxLength = 255): string | undefined {
  if (segment === '') return 'is empty';
  if (segment === '.' || segment === '..') return `is '${segment}' (a relative path segment)`;
  if (controlCharacter.test(segment)) return 'contains a control character';
  const bad = /[\\#?]/.exec(segment);
  if (bad) return `contains '${bad[0]}'`;
  if (segment.length > maxLength) return `is ${segment.length} characters long (at most ${maxLength})`;
  if (segment.endsWith('.')) return 'ends with a dot';
  return undefined;
}

/**
 * A blob name made of '/'-separated segments, each safe, at most `maxSegments` deep and 1024 characters long
 * (Azure's limit). Throws InputRejectedError('InvalidBlobName').
 */
export function checkBlobName(name: string, what = 'blob name', options: { maxSegments?: number } = {}): string {
  if (name.length > 1024)
    throw new InputRejectedError(
      'InvalidBlobName',
      `${what} ${excerpt(name)} is ${name.length} characters long (at most 1024)`,
    );
  const segments = name.split('/');
  if (options.maxSegments !== undefined && segments.length > options.maxSegments) {
    throw new InputRejectedError(
      'InvalidBlobName',
      `${what} ${excerpt(name)} has ${segments.length} path segments (at most ${options.maxSegments})`,
    );
  }
  for (const segment of segments) {
    const problem = blobSegmentProblem(segment);
    if (problem) throw new InputRejectedError('InvalidBlobName', `${what} ${excerpt(name)}: a path segment ${problem}`);
  }
  return name;
}

/** One path segment (`{table}` of `incoming/{table}/{name}`): no '/' at all. */
export function checkBlobSegment(segment: string, what: string): string {
  const problem = segment.includes('/') ? "contains '/'" : blobSegmentProblem(segment);
  if (problem) throw new InputRejectedError('InvalidBlobName', `${what} ${excerpt(segment)} ${problem}`);
  return segment;
}

/** Table Storage keys: no '/', '\\', '#', '?', no control characters, at most 1 KiB (the service's rules). */
export function tableKeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (controlCharacter.test(key)) return 'contains a control character';
  const bad = /[/\\#?]/.exec(key);
  if (bad) return `contains '${bad[0]}'`;
  if (Buffer.byteLength(key, 'utf8') > 1024) return 'is over 1 KiB';
  return undefined;
}

export function checkTableKey(key: string, what: string): string {
  const problem = tableKeyProblem(key);
  if (problem) throw new InputRejectedError('InvalidKey', `${what} ${excerpt(key)} ${problem}`);
  return key;
}

/** A zod string that is a safe Table Storage key. */
export const tableKeyString = () =>
  z.string().superRefine((key, ctx) => {
    const problem = tableKeyProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', message: `not usable as a storage key: ${problem}` });
  });

/** Ids we issue: GUIDs (loads, jobs) and the load ids derived from a blob (also GUIDs, v5). */
export const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Load ids: ours are GUIDs; a drop's metadata may name one of letters, digits and '-'. */
export const loadIdPattern = /^[A-Za-z0-9-]{1,100}$/;
/** Job ids: GUIDs, or a `jobId` a queue message names (letters, digits, '.', '_', '-'). */
export const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const loadIdSchema = z.string().regex(loadIdPattern, 'a load id (letters, digits and hyphens, at most 100)');
export const jobIdSchema = z.string().regex(jobIdPattern, 'a job id (letters, digits, ".", "_" and "-", at most 100)');

/** Dataverse logical names (tables, columns): what may go between quotes or into a path of a Web API URL. */
export const logicalNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function checkLogicalName(name: string, what: 'table' | 'column'): string {
  if (!logicalNamePattern.test(name)) {
    throw new InputRejectedError(
      what === 'table' ? 'InvalidTable' : 'InvalidColumn',
      `${what} ${excerpt(name)} is not a Dataverse logical name (a letter or '_', then letters, digits, '_'; at most 128)`,
    );
  }
  return name;
}

/** Largest queue message the app accepts (Azure Storage queues cap messages at 64 KiB). */
export const maxQueueMessageBytes = 64 * 1024;

/** The message's size as the host handed it over (a string, or the JSON it parsed). */
export function queueMessageSize(item: unknown): number {
  if (typeof item === 'string') return Buffer.byteLength(item, 'utf8');
  if (Buffer.isBuffer(item)) return item.length;
  try {
    return Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export function checkQueueMessageSize(item: unknown, queue: string): void {
  const size = queueMessageSize(item);
  if (size > maxQueueMessageBytes)
    throw new InputRejectedError(
      'MessageTooLarge',
      `${queue}: the message is ${size} bytes, over the ${maxQueueMessageBytes}-byte limit`,
      413,
    );
}
