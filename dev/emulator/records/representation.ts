/** Rows → the JSON Dataverse returns (`@odata.etag`, `_x_value` lookups, optional formatted values). */
import { faults } from './faults';
import type { Table } from './schema';
import { isLookupValue, type Row } from './store';

export interface Shape {
  /** Property names to return, already validated; undefined = every column. */
  select: string[] | undefined;
  /** `Prefer: odata.include-annotations` asked for formatted values / lookup annotations. */
  annotations: boolean;
}

export const etagOf = (row: Row): string => `W/"${String(row.versionnumber)}"`;

/** Parses and checks `$select`; lookups must be selected as `_x_value`, as in Dataverse. */
export function parseSelect(table: Table, select: string | null): string[] | undefined {
  if (select === null || select.trim() === '') return undefined;
  const names = select
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const n of names) if (!table.properties.has(n)) throw faults.unknownQueryProperty(n, table.logicalName);
  return names;
}

export function wantsAnnotations(prefer: string | undefined): boolean {
  const m = /odata\.include-annotations="?([^",;]*)/i.exec(prefer ?? '');
  return !!m && (m[1] === '*' || m[1]!.includes('FormattedValue') || m[1]!.includes('Microsoft.Dynamics.CRM'));
}

export function represent(
  table: Table,
  row: Row,
  shape: Shape,
  nameOf?: (table: string, id: string) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const names = shape.select
    ? shape.select.includes(table.primaryIdAttribute)
      ? shape.select
      : [...shape.select, table.primaryIdAttribute]
    : [...table.properties.keys()];
  for (const name of names) {
    const a = table.properties.get(name)!;
    const value = row[a.logicalName] ?? null;
    if (isLookupValue(value)) {
      if (shape.annotations) {
        const formatted = nameOf?.(value.table, value.id);
        if (typeof formatted === 'string') out[`${name}@OData.Community.Display.V1.FormattedValue`] = formatted;
        const nav = a.targets?.find((t) => t.table === value.table)?.navigationProperty;
        if (nav) out[`${name}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = nav;
        out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = value.table;
      }
      out[name] = value.id;
      continue;
    }
    if (shape.annotations && value !== null) {
      const option = a.options?.find((o) => o.value === value);
      if (a.type === 'MultiSelectPicklist' && typeof value === 'string' && value !== '') {
        // "Formatted values for this column are a semi-colon separated string containing the labels".
        const labels = value.split(',').map((v) => a.options?.find((o) => o.value === Number(v))?.label ?? v);
        out[`${name}@OData.Community.Display.V1.FormattedValue`] = labels.join('; ');
      } else if (option) out[`${name}@OData.Community.Display.V1.FormattedValue`] = option.label;
      else if (a.type === 'Boolean') out[`${name}@OData.Community.Display.V1.FormattedValue`] = value ? 'Yes' : 'No';
    }
    out[name] = value;
  }
  return out;
}

/** `<org>/api/data/v9.2/$metadata#accounts(name,accountid)/$entity` and the collection form. */
export function contextUrl(webApiBase: string, table: Table, select: string[] | undefined, entity: boolean): string {
  const columns = select ? `(${select.join(',')})` : '';
  return `${webApiBase}$metadata#${table.entitySetName}${columns}${entity ? '/$entity' : ''}`;
}
