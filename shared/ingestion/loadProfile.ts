import { z } from 'zod';
import { didYouMean } from './closeNames';
import { IngestionError } from './ingestionError';

/**
 * What to do with the rows of a file. Sources, later ones winning setting by setting:
 *   1. `incoming/{table}/_profile.json` (the folder's profile; JSON, this schema),
 *   2. blob metadata on the dropped file (`loadprofile` = a whole profile as JSON, plus the scalar keys in
 *      `blobMetadataKeys`), which is also where the HTTP API puts its query string (`queryToBlobMetadata`),
 *      so an upload and a drop go through the same path.
 * Unknown settings are an error naming them, so a typo never silently changes a load.
 */

export const operations = ['create', 'update', 'upsert', 'delete'] as const;
export type LoadOperation = (typeof operations)[number];

const bypassValues = ['CustomSync', 'CustomAsync', 'CustomSync,CustomAsync'] as const;

const lookupBindingSchema = z.strictObject({
  /** The lookup attribute the column sets (defaults to the column name). */
  attribute: z.string().min(1).optional(),
  /** The related table; required when the lookup has several targets (Customer, Owner) unless values say `table:id`. */
  table: z.string().min(1).optional(),
  /** Entity set of the related table, when the metadata reader didn't supply it. */
  entitySet: z.string().min(1).optional(),
  /** Navigation property used in `<nav>@odata.bind`, when the relationships weren't read. */
  navigationProperty: z.string().min(1).optional(),
  /**
   * 'id': the cell holds the related record's id; otherwise the related table's alternate-key attribute the cell
   * holds. Unset: a GUID is an id, and other values bind by the target's one-attribute alternate key when the
   * metadata names exactly one (shared/ingestion/lookupKeys.ts).
   */
  by: z.string().min(1).optional(),
  /** Polymorphic lookups (issue 16): target table → its alternate-key attribute the cells hold (else ids). */
  keys: z.record(z.string(), z.string().min(1)).optional(),
});
export type LookupBindingSetting = z.infer<typeof lookupBindingSchema>;

const limitsSchema = z.strictObject({
  maxFieldBytes: z.number().int().positive().optional(),
  maxRecordBytes: z.number().int().positive().optional(),
  maxColumns: z.number().int().positive().optional(),
});

export const loadProfileSchema = z.strictObject({
  /** Default: upsert when the columns cover an alternate key of the table, else create. */
  operation: z.enum(operations).optional(),
  /** An alternate key's logical name, or the attributes of the key (upsert/update/delete). */
  alternateKey: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Column → attribute logical name, or null to ignore the column. Unmapped columns are attribute logical names. */
  columns: z.record(z.string(), z.string().min(1).nullable()).optional(),
  /** Column → lookup binding. */
  lookups: z.record(z.string(), lookupBindingSchema).optional(),
  continueOnError: z.boolean().default(true),
  returnResponses: z.boolean().default(false),
  bypassBusinessLogic: z
    .union([z.enum(bypassValues), z.array(z.enum(['CustomSync', 'CustomAsync'])).min(1)])
    .transform((v) =>
      Array.isArray(v) ? (v.includes('CustomSync') && v.includes('CustomAsync') ? 'CustomSync,CustomAsync' : v[0]!) : v,
    )
    .optional(),
  bypassCustomPluginExecution: z.boolean().optional(),
  suppressDuplicateDetection: z.boolean().optional(),
  callerObjectId: z.uuid().optional(),
  /** 'batch' = $batch (ExecuteMultiple), 'bulk' = CreateMultiple/UpdateMultiple/UpsertMultiple, 'auto' = the engine picks. */
  executionMode: z.enum(['batch', 'bulk', 'auto']).default('auto'),
  batchSize: z.number().int().min(1).max(1000).default(1000),
  delimiter: z.enum([',', ';', '\t', '|']).optional(),
  /** How dates are written in the file; ISO 8601 always works. */
  dateFormat: z.enum(['iso', 'DD/MM/YYYY', 'MM/DD/YYYY', 'DD.MM.YYYY', 'YYYY/MM/DD']).default('iso'),
  /** Offset applied to date-times written without one ('UTC' or '+02:00'). */
  timeZone: z
    .string()
    .regex(/^(UTC|Z|[+-]\d{2}:\d{2})$/, "use 'UTC' or an offset such as '+02:00'")
    .default('UTC'),
  /** Language (LCID, e.g. 1033) whose choice labels are matched first; all labels are tried. */
  choiceLabelLanguage: z.number().int().positive().optional(),
  /** An empty cell: 'skip' leaves the attribute out of the request; 'null' clears it. JSON null always clears. */
  emptyValues: z.enum(['skip', 'null']).default('skip'),
  /** Fail a create whose columns miss a required attribute. */
  checkRequired: z.boolean().default(true),
  limits: limitsSchema.optional(),
  /** `ownerid` cells: force one way of finding the owner (else by the value's form, see columnKinds/owner.ts). */
  ownerBy: z.enum(['domainname', 'internalemailaddress', 'azureactivedirectoryobjectid', 'teamname']).optional(),
  /** Multi-select choice cells: the one character between items (not a backslash). */
  multiSelectSeparator: z
    .string()
    .length(1)
    .refine((v) => v !== '\\', 'the separator cannot be a backslash (it escapes the separator)')
    .default(';'),
  /** Image cells: `auto` (a data: URL is the image, anything else a blob path), `base64`, or `blobPath`. */
  images: z.enum(['auto', 'base64', 'blobPath']).default('auto'),
  /** A file of pairs for this N:N relationship (schema name): associate, or disassociate with operation `delete`. */
  relationship: z.string().min(1).optional(),
});

export type LoadProfile = z.output<typeof loadProfileSchema>;
export type LoadProfileInput = z.input<typeof loadProfileSchema>;

const settingNames = Object.keys(loadProfileSchema.shape);

function describeIssues(error: z.ZodError, where: string): string {
  const parts = error.issues.map((issue) => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = path.startsWith('lookups')
        ? Object.keys(lookupBindingSchema.shape)
        : path === 'limits'
          ? Object.keys(limitsSchema.shape)
          : settingNames;
      return issue.keys.map((k) => `unknown setting '${path ? `${path}.` : ''}${k}'${didYouMean(k, known)}`).join('; ');
    }
    return `${path || '(profile)'}: ${issue.message}`;
  });
  return `${where} is invalid: ${parts.join('; ')}`;
}

/** Validates one profile source (parsed JSON). Throws IngestionError('ProfileInvalid') naming every problem. */
export function parseLoadProfileInput(value: unknown, where = 'the load profile'): LoadProfileInput {
  const partial = loadProfileSchema.partial().safeParse(value);
  if (!partial.success) throw new IngestionError('ProfileInvalid', describeIssues(partial.error, where));
  // Return the input as given (defaults are applied once, after merging).
  return value as LoadProfileInput;
}

/** `_profile.json` text → profile input. */
export function parseProfileJson(text: string, where = '_profile.json'): LoadProfileInput {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new IngestionError(
      'ProfileInvalid',
      `${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseLoadProfileInput(value, where);
}

/** Blob metadata keys (Azure lower-cases them) → profile settings. */
export const blobMetadataKeys = {
  operation: 'operation',
  alternatekey: 'alternateKey',
  continueonerror: 'continueOnError',
  returnresponses: 'returnResponses',
  executionmode: 'executionMode',
  batchsize: 'batchSize',
  bypassbusinesslogic: 'bypassBusinessLogic',
  bypasscustompluginexecution: 'bypassCustomPluginExecution',
  suppressduplicatedetection: 'suppressDuplicateDetection',
  callerobjectid: 'callerObjectId',
  delimiter: 'delimiter',
  dateformat: 'dateFormat',
  timezone: 'timeZone',
  emptyvalues: 'emptyValues',
  ownerby: 'ownerBy',
  multiselectseparator: 'multiSelectSeparator',
  images: 'images',
  relationship: 'relationship',
} as const satisfies Record<string, keyof LoadProfileInput>;

const booleanSettings = new Set([
  'continueOnError',
  'returnResponses',
  'bypassCustomPluginExecution',
  'suppressDuplicateDetection',
]);
const delimiterNames: Record<string, string> = { comma: ',', semicolon: ';', tab: '\t', pipe: '|' };
/** Keys blob metadata may carry that are not profile settings (set by this app or by Azure tooling). */
const ignoredMetadataKeys = new Set(['loadid', 'hdi_isfolder', 'uploadedby', 'source', 'contentmd5']);

function scalarSetting(setting: string, text: string, where: string): unknown {
  if (booleanSettings.has(setting)) {
    const lower = text.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new IngestionError('ProfileInvalid', `${where}: ${setting} must be true or false, got '${text}'`);
  }
  if (setting === 'batchSize') {
    if (!/^\d+$/.test(text.trim()))
      throw new IngestionError('ProfileInvalid', `${where}: batchSize must be a whole number, got '${text}'`);
    return Number(text);
  }
  if (setting === 'alternateKey') return text.includes(',') ? text.split(',').map((s) => s.trim()) : text.trim();
  if (setting === 'delimiter') return delimiterNames[text.trim().toLowerCase()] ?? text;
  if (setting === 'bypassBusinessLogic') return text.replace(/\s/g, '');
  return text.trim();
}

/** Blob metadata → profile input (validated). */
export function profileFromBlobMetadata(
  metadata: Record<string, string> | undefined,
  where = 'the blob metadata',
): LoadProfileInput {
  if (!metadata) return {};
  let profile: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(metadata)) {
    const key = rawKey.toLowerCase();
    if (key === 'loadprofile') {
      profile = { ...parseProfileJson(value, `${where} 'loadprofile'`), ...profile };
      continue;
    }
    if (ignoredMetadataKeys.has(key)) continue;
    const setting = (blobMetadataKeys as Record<string, string>)[key];
    if (!setting) {
      throw new IngestionError(
        'ProfileInvalid',
        `${where} has an unknown setting '${rawKey}'${didYouMean(key, Object.keys(blobMetadataKeys))}`,
      );
    }
    profile[setting] = scalarSetting(setting, value, where);
  }
  return parseLoadProfileInput(profile, where);
}

/** The HTTP API's query string (operation, key, continueOnError, returnResponses) → blob metadata for the uploaded blob. */
export function queryToBlobMetadata(query: Record<string, string | undefined>): Record<string, string> {
  const metadata: Record<string, string> = {};
  const map: Record<string, string> = {
    operation: 'operation',
    key: 'alternatekey',
    alternatekey: 'alternatekey',
    continueonerror: 'continueonerror',
    returnresponses: 'returnresponses',
    profile: 'loadprofile',
  };
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // Blob metadata travels in HTTP headers: ASCII only, 8 KiB in all. JSON can say anything else as \u escapes.
    if (name.toLowerCase() === 'profile' && value.length > 4096)
      throw new IngestionError(
        'ProfileInvalid',
        `the profile parameter is ${value.length} characters, over 4096: put the profile in incoming/{table}/_profile.json`,
      );
    const key = map[name.toLowerCase()];
    if (!key) {
      throw new IngestionError(
        'ProfileInvalid',
        `unknown query parameter '${name}'${didYouMean(name, ['operation', 'key', 'continueOnError', 'returnResponses', 'profile'])}`,
      );
    }
    metadata[key] = key === 'loadprofile' ? asciiJson(value) : value;
  }
  profileFromBlobMetadata(metadata, 'the query string'); // validate now, so the HTTP caller gets the 400
  return metadata;
}

/** JSON text, compact, with every non-ASCII character as a \u escape (same value), so it fits in blob metadata. */
function asciiJson(text: string): string {
  let compact: string;
  try {
    compact = JSON.stringify(JSON.parse(text));
  } catch {
    return text; // profileFromBlobMetadata names the JSON error
  }
  return compact.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Merges the sources (later wins per setting) and applies defaults. */
export function resolveLoadProfile(sources: {
  folderProfile?: LoadProfileInput;
  blobMetadata?: Record<string, string>;
}): LoadProfile {
  const merged = { ...(sources.folderProfile ?? {}), ...profileFromBlobMetadata(sources.blobMetadata) };
  const parsed = loadProfileSchema.safeParse(merged);
  if (!parsed.success) throw new IngestionError('ProfileInvalid', describeIssues(parsed.error, 'the load profile'));
  return parsed.data;
}
