/**
 * Turns Dataverse's answer for one row into a message a user can act on: when the fault is about one column
 * (a lookup target missing by key or id, a duplicate key, a value over the maximum length, a choice value not in
 * the choice, a required column missing) it names the column, the attribute and the value, e.g.
 * `row 3, column 'Company' (parentcustomerid → account by accountnumber): no account with accountnumber 'P-404'`.
 * Dataverse's own code and text are kept beside it by the caller (FailedRowRecord.dataverseCode/Message).
 * Dataverse's texts don't name the column or value (a missing lookup target says only "A record with the
 * specified key values does not exist in account entity"), so the row's own cells and bindings say which one.
 */
import type { ColumnBinding, LoadPlan } from '../ingestion/loadPlan';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import type { RowOutcome } from './chunkExecution';
import type { FailedRowRecord } from './loadRecord';
import { truncateForMessage } from '../ingestion/ingestionError';

export interface DataverseRowFault {
  code: string;
  message: string;
}

export interface ExplainedRowFailure {
  message: string;
  /** The source column the failure is about (as named in the file). */
  column?: string;
  /** The cell as text (cut for long values). */
  value?: string;
}

export interface RowFailureInput {
  plan: Pick<LoadPlan, 'table' | 'operation' | 'key' | 'bindings'>;
  /** The table's alternate keys (metadata), for duplicate keys of a create. */
  alternateKeys?: { logicalName: string; attributes: string[] }[];
  rowNumber: number;
  /** The row's cells by source column, as read. */
  values?: Record<string, unknown>;
  fault: DataverseRowFault;
}

type LookupBinding = Extract<ColumnBinding, { kind: 'lookup' }>;
type AttributeBinding = Extract<ColumnBinding, { kind: 'attribute' | 'lookup' }>;

const patterns = {
  // "A record with the specified key values does not exist in account entity"
  missingByKey: /specified key values does not exist in (\w+) entity/i,
  // "account With Id = <guid> Does Not Exist" / "Entity 'account' With Id = <guid> Does Not Exist"
  missingById:
    /(?:Entity ')?(\w+)'? With Id = ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) Does Not Exist/i,
  duplicateKey: /matching key values already exists|Cannot insert duplicate key/i,
  maxLength: /length of the '(\w+)' attribute of the '(\w+)' entity exceeded the maximum allowed length of '(\d+)'/i,
  outOfRange: /The value (.+?) of '(\w+)' on record of type '(\w+)' is outside the valid range/i,
  required: /Attribute '(\w+)' cannot be NULL/i,
};

export function valueText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const quote = (text: string) => `'${truncateForMessage(text)}'`;

function attributeBindings(plan: RowFailureInput['plan']): AttributeBinding[] {
  return plan.bindings.filter((b): b is AttributeBinding => b.kind !== 'ignored');
}

function present(values: RowFailureInput['values'], column: string): string | undefined {
  const text = valueText(values?.[column]);
  return text === undefined || text === '' ? undefined : text;
}

function lookupLabel(b: LookupBinding, table: string, by: string = b.by): string {
  return `${b.attribute.logicalName} → ${table} by ${by}`;
}

function keyColumnsOf(plan: RowFailureInput['plan']): { column: string; attribute: string }[] {
  if (!plan.key) return [];
  if (plan.key.kind === 'primaryId') return [{ column: plan.key.column, attribute: plan.key.attribute }];
  const { attributes } = plan.key;
  return plan.key.columns.map((column, i) => ({ column, attribute: attributes[i]! }));
}

function describeKey(pairs: { column: string; attribute: string }[], values: RowFailureInput['values']): string {
  return pairs.map((p) => `${p.attribute} ${quote(valueText(values?.[p.column]) ?? '')}`).join(' and ');
}

function explainMissingByKey(input: RowFailureInput, table: string): ExplainedRowFailure | undefined {
  const { plan, values, rowNumber } = input;
  const lookup = attributeBindings(plan).find(
    (b): b is LookupBinding =>
      b.kind === 'lookup' &&
      b.by !== 'id' &&
      b.targets.some((t) => t.table === table.toLowerCase()) &&
      present(values, b.column) !== undefined,
  );
  if (lookup) {
    const value = present(values, lookup.column)!;
    return {
      column: lookup.column,
      value,
      message: `row ${rowNumber}, column '${lookup.column}' (${lookupLabel(lookup, table)}): no ${table} with ${lookup.by} ${quote(value)}`,
    };
  }
  // Not a lookup: the row's own key (an update or delete by key finds no record; an upsert would create it).
  const key = keyColumnsOf(plan);
  if (table.toLowerCase() === plan.table.logicalName && key.length > 0 && plan.operation !== 'upsert') {
    return {
      column: key.map((k) => k.column).join(', '),
      value: key.map((k) => valueText(values?.[k.column]) ?? '').join(', '),
      message: `row ${rowNumber}, column '${key.map((k) => k.column).join("', '")}': no ${table} with ${describeKey(key, values)} to ${plan.operation}`,
    };
  }
  return undefined;
}

function explainMissingById(input: RowFailureInput, table: string, id: string): ExplainedRowFailure | undefined {
  const { plan, values, rowNumber } = input;
  const lowerId = id.toLowerCase();
  const holds = (column: string) => (present(values, column) ?? '').toLowerCase().includes(lowerId);
  const lookup = attributeBindings(plan).find(
    // A lookup by a key the metadata named still takes ids (lookupKeys.ts).
    (b): b is LookupBinding => b.kind === 'lookup' && (b.by === 'id' || !!b.inferredKey) && holds(b.column),
  );
  if (lookup) {
    const value = present(values, lookup.column)!;
    return {
      column: lookup.column,
      value,
      message: `row ${rowNumber}, column '${lookup.column}' (${lookupLabel(lookup, table, 'id')}): no ${table} with id ${quote(id)}`,
    };
  }
  const own = keyColumnsOf(plan).find((k) => holds(k.column));
  if (own)
    return {
      column: own.column,
      value: present(values, own.column)!,
      message: `row ${rowNumber}, column '${own.column}': no ${table} with id ${quote(id)} to ${plan.operation}`,
    };
  return undefined;
}

function explainDuplicateKey(input: RowFailureInput): ExplainedRowFailure | undefined {
  const { plan, values, rowNumber, alternateKeys = [] } = input;
  const columnOf = new Map(attributeBindings(plan).map((b) => [b.attribute.logicalName, b.column]));
  let pairs = plan.key?.kind === 'alternateKey' ? keyColumnsOf(plan) : [];
  if (pairs.length === 0) {
    // A create: the first alternate key of the table whose columns the row fills.
    const key = alternateKeys.find((k) =>
      k.attributes.every((a) => columnOf.has(a) && present(values, columnOf.get(a)!) !== undefined),
    );
    pairs = key ? key.attributes.map((attribute) => ({ attribute, column: columnOf.get(attribute)! })) : [];
  }
  if (pairs.length === 0) return undefined;
  const columns = pairs.map((p) => p.column);
  return {
    column: columns.join(', '),
    value: pairs.map((p) => valueText(values?.[p.column]) ?? '').join(', '),
    message: `row ${rowNumber}, column '${columns.join("', '")}': another ${plan.table.logicalName} already has ${describeKey(pairs, values)}`,
  };
}

function bindingOfAttribute(plan: RowFailureInput['plan'], attribute: string): AttributeBinding | undefined {
  return attributeBindings(plan).find((b) => b.attribute.logicalName === attribute.toLowerCase());
}

function explainMaxLength(input: RowFailureInput, attribute: string, max: string): ExplainedRowFailure | undefined {
  const binding = bindingOfAttribute(input.plan, attribute);
  if (!binding) return undefined;
  const value = valueText(input.values?.[binding.column]) ?? '';
  const characters = [...value];
  return {
    column: binding.column,
    value,
    message: `row ${input.rowNumber}, column '${binding.column}' (${attribute}): '${characters.length > 30 ? `${characters.slice(0, 30).join('')}…` : value}' is ${characters.length} characters, over the ${max} allowed`,
  };
}

function explainOutOfRange(input: RowFailureInput, sent: string, attribute: string): ExplainedRowFailure | undefined {
  const binding = bindingOfAttribute(input.plan, attribute);
  if (!binding) return undefined;
  const value = valueText(input.values?.[binding.column]) ?? '';
  return {
    column: binding.column,
    value,
    message: `row ${input.rowNumber}, column '${binding.column}' (${attribute}): ${quote(value)} is not a valid choice or is out of range (Dataverse got ${sent})`,
  };
}

function explainRequired(input: RowFailureInput, attribute: string): ExplainedRowFailure {
  const binding = bindingOfAttribute(input.plan, attribute);
  if (!binding)
    return {
      message: `row ${input.rowNumber}: ${attribute} is required, and the file has no column for it`,
    };
  return {
    column: binding.column,
    value: valueText(input.values?.[binding.column]) ?? '',
    message: `row ${input.rowNumber}, column '${binding.column}' (${attribute}): a value is required`,
  };
}

/**
 * The message for a row Dataverse refused. A fault about one column names it and its value; any other keeps
 * Dataverse's text after `row N: `.
 */
export function explainRowFailure(input: RowFailureInput): ExplainedRowFailure {
  const { fault, rowNumber } = input;
  const text = fault.message;
  let explained: ExplainedRowFailure | undefined;
  let match: RegExpExecArray | null;
  if ((match = patterns.missingByKey.exec(text))) explained = explainMissingByKey(input, match[1]!);
  else if ((match = patterns.missingById.exec(text))) explained = explainMissingById(input, match[1]!, match[2]!);
  else if (patterns.duplicateKey.test(text)) explained = explainDuplicateKey(input);
  else if ((match = patterns.maxLength.exec(text))) explained = explainMaxLength(input, match[1]!, match[3]!);
  else if ((match = patterns.outOfRange.exec(text))) explained = explainOutOfRange(input, match[1]!, match[2]!);
  else if ((match = patterns.required.exec(text))) explained = explainRequired(input, match[1]!);
  return explained ?? { message: `row ${rowNumber}: ${text}` };
}

/**
 * A fault from Dataverse gets a message naming the column and value when it is about one (rowFailureMessage.ts);
 * Dataverse's code and text are kept as they came. Faults of ours already start with `row N`.
 */
export function failedRowFields(
  plan: LoadPlan,
  keys: { logicalName: string; attributes: string[] }[],
  row: SourceRowResult,
  outcome: Extract<RowOutcome, { status: 'failed' }>,
): Pick<FailedRowRecord, 'message' | 'column' | 'value' | 'dataverseCode' | 'dataverseMessage'> {
  const fromDataverse = outcome.httpStatus !== undefined && !outcome.message.startsWith(`row ${row.rowNumber}`);
  const own = {
    message: outcome.message,
    ...(outcome.column !== undefined ? { column: outcome.column } : {}),
    ...(outcome.value !== undefined ? { value: outcome.value } : {}),
  };
  if (!fromDataverse) return own;
  const explanation = explainRowFailure({
    plan,
    alternateKeys: keys,
    rowNumber: row.rowNumber,
    ...(row.values ? { values: row.values } : {}),
    fault: { code: outcome.code, message: outcome.message },
  });
  return {
    ...explanation,
    ...(explanation.value !== undefined ? { value: truncated(explanation.value) } : {}),
    dataverseCode: outcome.code,
    dataverseMessage: outcome.message,
  };
}

/** Values kept in a failed-row entity are cut like messages (the whole row is in rowJson). */
const truncated = (value: string) => (value.length > 1000 ? `${value.slice(0, 1000)}…` : value);
