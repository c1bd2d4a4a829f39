import fc from 'fast-check';
import { formatHeader, parseHeader, planHeaders, type HeaderRole } from '../../../../shared/ingestion/columnKinds';
import { contact } from './fixture';

const logicalName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
const role: fc.Arbitrary<HeaderRole> = fc.oneof(
  logicalName.filter((a) => a !== 'createdon').map((attribute) => ({ role: 'plain' as const, attribute })),
  fc.record({ role: fc.constant('target' as const), attribute: logicalName, table: logicalName }),
  logicalName.map((attribute) => ({ role: 'targetType' as const, attribute })),
  fc.constant({ role: 'createdOn' as const, attribute: 'overriddencreatedon' as const }),
);

test('print then parse gives the same role, and parse then print the same header', () => {
  fc.assert(
    fc.property(role, (r) => {
      const header = formatHeader(r);
      expect(parseHeader(header)).toEqual(r);
      expect(formatHeader(parseHeader(header)!)).toBe(header);
    }),
  );
});

test('headers are read case-insensitively; other text is no convention header', () => {
  expect(parseHeader('ParentCustomerId@Account')).toEqual({
    role: 'target',
    attribute: 'parentcustomerid',
    table: 'account',
  });
  expect(parseHeader('parentcustomerid.TYPE')).toEqual({ role: 'targetType', attribute: 'parentcustomerid' });
  expect(parseHeader('CreatedOn')).toEqual({ role: 'createdOn', attribute: 'overriddencreatedon' });
  for (const h of ['Account Name', '@account', 'x@', 'a@b@c', '.type', 'a.b']) expect(parseHeader(h)).toBeUndefined();
});

describe('planHeaders', () => {
  test('groups per-target columns, the value and type columns, and renames createdon', () => {
    const plan = planHeaders(contact, [
      'lastname',
      'parentcustomerid@account',
      'parentcustomerid@contact',
      'createdon',
    ]);
    expect(plan.problems).toEqual([]);
    expect(plan.renamed).toEqual({ createdon: 'overriddencreatedon' });
    expect(plan.polymorphic).toHaveLength(1);
    expect(plan.polymorphic[0]!.perTarget).toEqual([
      { column: 'parentcustomerid@account', table: 'account' },
      { column: 'parentcustomerid@contact', table: 'contact' },
    ]);
    const typed = planHeaders(contact, ['parentcustomerid', 'parentcustomerid.type']);
    expect(typed.polymorphic[0]).toMatchObject({
      valueColumn: 'parentcustomerid',
      typeColumn: 'parentcustomerid.type',
    });
  });

  test('fails the file for an unknown target, a non-lookup, a type column alone, or both forms at once', () => {
    expect(planHeaders(contact, ['parentcustomerid@lead']).problems).toEqual([
      "column 'parentcustomerid@lead': lead is not a target of parentcustomerid (allowed: account, contact)",
    ]);
    expect(planHeaders(contact, ['lastname@account']).problems).toEqual([
      "column 'lastname@account': 'lastname' is not a lookup column of contact",
    ]);
    expect(planHeaders(contact, ['parentcustomerid.type']).problems).toEqual([
      "column 'parentcustomerid.type' names the table of 'parentcustomerid', but there is no 'parentcustomerid' column",
    ]);
    expect(planHeaders(contact, ['parentcustomerid', 'parentcustomerid@account']).problems).toEqual([
      "'parentcustomerid' has both per-target columns (parentcustomerid@<table>) and a 'parentcustomerid' column: use one form",
    ]);
  });
});
