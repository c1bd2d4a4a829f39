/**
 * The request bodies the load path writes for the column kinds, against Microsoft's published examples in
 * test/fixtures/dataverse (provenance in its ADDED.md): a multi-table lookup bound through its target's navigation
 * property, and a multi-select choice column as a string of option values.
 */
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile } from '../../../shared/ingestion/loadProfile';
import type { CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow } from '../../../shared/ingestion/rowConversion';
import { buildTableMetadata, type TableMetadata } from '../../../shared/ingestion/tableMetadata';
import { readFixture } from '../../dev/emulator/conformance/httpFixture';

const bodyOf = (name: string): Record<string, unknown> => {
  const text = readFixture(name);
  return JSON.parse(text.slice(text.indexOf('{'))) as Record<string, unknown>;
};
const attribute = (LogicalName: string, AttributeType: string, extra: Record<string, unknown> = {}) => ({
  LogicalName,
  AttributeType,
  IsValidForCreate: true,
  IsValidForUpdate: true,
  ...extra,
});
const label = (Label: string) => ({ UserLocalizedLabel: { Label, LanguageCode: 1033 } });

function bodyFor(metadata: TableMetadata, values: Record<string, CellValue>): Record<string, unknown> {
  const plan = planLoad(metadata, resolveLoadProfile({ folderProfile: { checkRequired: false } }), Object.keys(values));
  const row = convertRow(plan, { ok: true, rowNumber: 1, line: 2, byteStart: 0, byteEnd: 0, raw: '', values });
  if (!row.ok) throw new Error(row.faults.map((f) => f.message).join('; '));
  return row.body;
}

test('multi-table lookup: `<lookup>@<table>` column → `<navigation property>@odata.bind` as in multitable-lookup.md', () => {
  const metadata = buildTableMetadata({
    entityDefinition: {
      LogicalName: 'new_checkout',
      EntitySetName: 'new_checkouts',
      PrimaryIdAttribute: 'new_checkoutid',
      Attributes: [
        attribute('new_checkoutid', 'Uniqueidentifier', { IsPrimaryId: true }),
        attribute('new_name', 'String', { MaxLength: 100 }),
        attribute('new_checkedoutitem', 'Lookup', { Targets: ['new_book', 'new_device'] }),
      ],
    },
    manyToOneRelationships: {
      value: ['new_book', 'new_device'].map((table) => ({
        ReferencingAttribute: 'new_checkedoutitem',
        ReferencingEntityNavigationPropertyName: `new_CheckedoutItem_${table}`,
        ReferencedEntity: table,
      })),
    },
    relatedEntitySets: { new_book: 'new_books', new_device: 'new_devices' },
  });
  expect(
    bodyFor(metadata, {
      new_name: 'c1',
      'new_checkedoutitem@new_book': '387A2C9B-ECC6-EA11-A81E-000D3AF68BD7',
      'new_checkedoutitem@new_device': '',
    }),
  ).toEqual(bodyOf('multitable-lookup-create.request.http'));
});

test('multi-select choices: labels in the file → the option values as one string, as in multi-select-picklist.md', () => {
  const metadata = buildTableMetadata({
    entityDefinition: {
      LogicalName: 'contact',
      EntitySetName: 'contacts',
      PrimaryIdAttribute: 'contactid',
      Attributes: [
        attribute('contactid', 'Uniqueidentifier', { IsPrimaryId: true }),
        attribute('firstname', 'String', { MaxLength: 50 }),
        attribute('lastname', 'String', { MaxLength: 50 }),
        attribute('sample_outdooractivities', 'Virtual', { AttributeTypeName: { Value: 'MultiSelectPicklistType' } }),
      ],
    },
    multiSelectAttributes: {
      value: [
        {
          LogicalName: 'sample_outdooractivities',
          OptionSet: {
            Options: [
              { Value: 1, Label: label('Swimming') },
              { Value: 9, Label: label('Hiking') },
            ],
          },
        },
      ],
    },
  });
  const published = bodyOf('multiselect-create.request.http');
  const body = bodyFor(metadata, {
    firstname: 'Wayne',
    lastname: 'Yarborough',
    sample_outdooractivities: 'Swimming; Hiking',
  });
  // Microsoft's example writes "1, 9"; the values are the same list (Dataverse reads both forms).
  expect(String(body['sample_outdooractivities']).split(',')).toEqual(
    String(published['sample_outdooractivities'])
      .split(',')
      .map((v) => v.trim()),
  );
  expect(body).toMatchObject({ firstname: published['firstname'], lastname: published['lastname'] });
});
