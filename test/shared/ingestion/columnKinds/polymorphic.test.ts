import { planHeaders, resolvePolymorphic } from '../../../../shared/ingestion/columnKinds';
import { contact } from './fixture';

const id = 'CE9EAAEF-F718-ED11-B83E-00224837179F';
const perTarget = planHeaders(contact, ['parentcustomerid@account', 'parentcustomerid@contact']).polymorphic[0]!;
const typed = planHeaders(contact, ['parentcustomerid', 'parentcustomerid.type']).polymorphic[0]!;

test('a per-target column binds through that target’s navigation property, by id', () => {
  const r = resolvePolymorphic(perTarget, { 'parentcustomerid@account': '', 'parentcustomerid@contact': id }, 4);
  expect(r).toEqual({
    ok: true,
    value: {
      attribute: 'parentcustomerid',
      target: { table: 'contact', navigationProperty: 'parentcustomerid_contact', entitySetName: 'contacts' },
      reference: { kind: 'id', id: id.toLowerCase() },
    },
  });
  expect(resolvePolymorphic(perTarget, { 'parentcustomerid@account': ' ' }, 4)).toEqual({ ok: true, value: null });
});

test('the companion type column (logical or entity set name) or the profile default names the table', () => {
  const r = resolvePolymorphic(typed, { parentcustomerid: id, 'parentcustomerid.type': 'Accounts' }, 2);
  expect(r.ok && r.value?.target.table).toBe('account');
  const byDefault = resolvePolymorphic(typed, { parentcustomerid: 'A-1' }, 2, {
    defaultTable: 'account',
    keyAttributes: { account: 'accountnumber' },
  });
  expect(byDefault.ok && byDefault.value?.reference).toEqual({ kind: 'key', attribute: 'accountnumber', value: 'A-1' });
});

test('bad input fails the row naming row, column, value, table and the allowed targets', () => {
  const notTarget = resolvePolymorphic(typed, { parentcustomerid: id, 'parentcustomerid.type': 'lead' }, 7);
  expect(notTarget).toEqual({
    ok: false,
    fault: {
      rowNumber: 7,
      column: 'parentcustomerid.type',
      value: 'lead',
      message:
        "row 7, column 'parentcustomerid.type': 'lead' is not a target of parentcustomerid (allowed: account, contact)",
    },
  });
  const noTable = resolvePolymorphic(typed, { parentcustomerid: id }, 3);
  expect(!noTable.ok && noTable.fault.message).toContain(
    'no target table for parentcustomerid (one of: account, contact)',
  );
  const two = resolvePolymorphic(perTarget, { 'parentcustomerid@account': id, 'parentcustomerid@contact': id }, 5);
  expect(!two.ok && two.fault).toMatchObject({ rowNumber: 5, column: 'parentcustomerid@contact' });
  const notGuid = resolvePolymorphic(perTarget, { 'parentcustomerid@account': 'Contoso' }, 6);
  expect(!notGuid.ok && notGuid.fault.message).toBe(
    "row 6, column 'parentcustomerid@account': 'Contoso' is not a GUID (the id of the account record), and account has no single alternate key of one column to find it by; to bind by another column, name the account key attribute in the profile (lookups.parentcustomerid.keys)",
  );
});
