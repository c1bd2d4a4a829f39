/** Which columns of a file a plan's crossTableBinds name, and the `@odata.bind` properties each fills (planBinds.ts). */
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile } from '../../../shared/ingestion/loadProfile';
import { crossTableColumns } from '../../../shared/loads/planBinds';
import { accountMetadata } from '../ingestion/accountMetadataFixture';

const columnsOf = (columns: string[], names: string[]) =>
  crossTableColumns(planLoad(accountMetadata(), resolveLoadProfile({}), columns), columns, names);

test('a lookup column by its header (any case): its one target', () => {
  expect(columnsOf(['name', 'primarycontactid'], ['PrimaryContactId'])).toEqual([
    { column: 'primarycontactid', properties: ['primarycontactid@odata.bind'] },
  ]);
});

test('a polymorphic lookup by its attribute: each x@table column fills its own target', () => {
  expect(columnsOf(['name', 'new_customerid@account', 'new_customerid@contact'], ['new_customerid'])).toEqual([
    { column: 'new_customerid@account', properties: ['new_customerid_account@odata.bind'] },
    { column: 'new_customerid@contact', properties: ['new_customerid_contact@odata.bind'] },
  ]);
});

test('a polymorphic value column with its type column: any target (the type column itself binds nothing)', () => {
  const found = columnsOf(['name', 'new_customerid', 'new_customerid.type'], ['new_customerid']);
  expect(found.map((c) => [c.column, [...c.properties].sort()])).toEqual([
    ['new_customerid', ['new_customerid_account@odata.bind', 'new_customerid_contact@odata.bind']],
  ]);
});

test('names that are not lookup columns of the file name nothing', () => {
  expect(columnsOf(['name', 'primarycontactid'], ['parentaccountid', 'name'])).toEqual([]);
});
