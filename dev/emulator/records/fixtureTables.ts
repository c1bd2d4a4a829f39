/** Tables the reference fixtures (test/fixtures/dataverse) use. */
import type { TableSchemaJson } from './schema';
import { memo, money, s } from './schemaBuilders';

export const fixtureTables: TableSchemaJson['tables'] = [
  {
    logicalName: 'sample_example',
    entitySetName: 'sample_examples',
    primaryIdAttribute: 'sample_exampleid',
    primaryNameAttribute: 'sample_name',
    attributes: [s('sample_name', 100), s('sample_keyattribute', 100), memo('sample_description', 4000)],
    keys: [{ logicalName: 'sample_keyattribute_key', attributes: ['sample_keyattribute'] }],
  },
  {
    logicalName: 'example_record',
    entitySetName: 'example_records',
    primaryIdAttribute: 'example_recordid',
    primaryNameAttribute: 'example_name',
    attributes: [
      s('example_name', 100),
      { logicalName: 'example_key1', type: 'Integer', minValue: -2147483648, maxValue: 2147483647 },
      { logicalName: 'example_key2', type: 'Integer', minValue: -2147483648, maxValue: 2147483647 },
    ],
    keys: [{ logicalName: 'example_keys', attributes: ['example_key1', 'example_key2'] }],
  },
  {
    logicalName: 'new_altkeydemo',
    entitySetName: 'new_altkeydemos',
    primaryIdAttribute: 'new_altkeydemoid',
    primaryNameAttribute: 'new_productname',
    attributes: [s('new_productname', 100), s('new_externalid', 100), money('new_price')],
    keys: [{ logicalName: 'new_externalid_key', attributes: ['new_externalid'] }],
  },
  {
    logicalName: 'contoso_sensordata',
    entitySetName: 'contoso_sensordatas',
    primaryIdAttribute: 'contoso_sensordataid',
    primaryNameAttribute: 'contoso_name',
    isElastic: true,
    attributes: [
      s('contoso_name', 100),
      s('contoso_deviceid', 100),
      { logicalName: 'contoso_value', type: 'Double', minValue: -1e9, maxValue: 1e9, precision: 4 },
      { logicalName: 'contoso_timestamp', type: 'DateTime', format: 'DateAndTime' },
    ],
  },
];
