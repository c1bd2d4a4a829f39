/**
 * Header conventions for the column kinds, usable without a load profile:
 * - `parentcustomerid@account`: the column holds values for the `account` target of the polymorphic lookup
 *   `parentcustomerid` (one column per target; a row fills at most one of them);
 * - `parentcustomerid.type`: a companion column naming each row's target table for the `parentcustomerid` column;
 * - `createdon`: loaded into `overriddencreatedon` (createdon itself is read-only; Dataverse sets it from
 *   overriddencreatedon on create).
 * `formatHeader(parseHeader(h))` gives back `h` for every header it understands (lower-cased names).
 */
import type { KindAttribute, KindTable } from './types';

export type HeaderRole =
  | { role: 'plain'; attribute: string }
  | { role: 'target'; attribute: string; table: string }
  | { role: 'targetType'; attribute: string }
  | { role: 'createdOn'; attribute: 'overriddencreatedon' };

const name = /^[a-z_][a-z0-9_]*$/;

/** Reads one header. Names are compared lower-cased (logical names are). Undefined: not a convention header. */
export function parseHeader(header: string): HeaderRole | undefined {
  const h = header.trim().toLowerCase();
  if (h === 'createdon') return { role: 'createdOn', attribute: 'overriddencreatedon' };
  const at = h.indexOf('@');
  if (at > 0) {
    const attribute = h.slice(0, at),
      table = h.slice(at + 1);
    return name.test(attribute) && name.test(table) ? { role: 'target', attribute, table } : undefined;
  }
  if (h.endsWith('.type')) {
    const attribute = h.slice(0, -'.type'.length);
    return name.test(attribute) ? { role: 'targetType', attribute } : undefined;
  }
  return name.test(h) ? { role: 'plain', attribute: h } : undefined;
}

export function formatHeader(role: HeaderRole): string {
  switch (role.role) {
    case 'plain':
      return role.attribute;
    case 'target':
      return `${role.attribute}@${role.table}`;
    case 'targetType':
      return `${role.attribute}.type`;
    case 'createdOn':
      return 'createdon';
  }
}

/** How one polymorphic lookup (or owner) is fed by the file's columns. */
export interface PolymorphicColumns {
  attribute: KindAttribute;
  /** `parentcustomerid@account` columns: header → target table. */
  perTarget: { column: string; table: string }[];
  /** The value column (`parentcustomerid`) when the target comes from a companion type column or the profile. */
  valueColumn?: string;
  /** The companion `parentcustomerid.type` column. */
  typeColumn?: string;
}

export interface HeaderPlan {
  polymorphic: PolymorphicColumns[];
  /** Header → attribute for the renamed columns (`createdon` → `overriddencreatedon`). */
  renamed: Record<string, string>;
  /** Problems that fail the whole file (each names the header). */
  problems: string[];
}

const allowed = (a: KindAttribute) => (a.targets ?? []).map((t) => t.table).join(', ');

/** Groups the convention headers by lookup; a target or type column of an unknown lookup or target fails the file. */
export function planHeaders(table: KindTable, headers: string[]): HeaderPlan {
  const byAttribute = new Map<string, PolymorphicColumns>();
  const renamed: Record<string, string> = {};
  const problems: string[] = [];
  const lookup = (header: string, attribute: string): PolymorphicColumns | undefined => {
    const a = table.attributes[attribute];
    if (!a || (a.kind !== 'lookup' && a.kind !== 'owner')) {
      problems.push(`column '${header}': '${attribute}' is not a lookup column of ${table.logicalName}`);
      return undefined;
    }
    let group = byAttribute.get(attribute);
    if (!group) byAttribute.set(attribute, (group = { attribute: a, perTarget: [] }));
    return group;
  };
  for (const header of headers) {
    const role = parseHeader(header);
    if (!role) continue;
    if (role.role === 'createdOn') renamed[header] = role.attribute;
    else if (role.role === 'target') {
      const group = lookup(header, role.attribute);
      if (!group) continue;
      if (!group.attribute.targets?.some((t) => t.table === role.table))
        problems.push(
          `column '${header}': ${role.table} is not a target of ${role.attribute} (allowed: ${allowed(group.attribute)})`,
        );
      else group.perTarget.push({ column: header, table: role.table });
    } else if (role.role === 'targetType') {
      const group = lookup(header, role.attribute);
      if (group) group.typeColumn = header;
    }
  }
  for (const header of headers) {
    const role = parseHeader(header);
    const group = role?.role === 'plain' ? byAttribute.get(role.attribute) : undefined;
    if (group) group.valueColumn = header;
  }
  for (const group of byAttribute.values()) {
    const a = group.attribute.logicalName;
    if (group.typeColumn && !group.valueColumn)
      problems.push(`column '${group.typeColumn}' names the table of '${a}', but there is no '${a}' column`);
    if (group.perTarget.length && group.valueColumn)
      problems.push(`'${a}' has both per-target columns (${a}@<table>) and a '${a}' column: use one form`);
  }
  return { polymorphic: [...byAttribute.values()], renamed, problems };
}
