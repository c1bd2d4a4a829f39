/** The load record's plan fields: stored as Table properties and read back validated; when a load waits for its plan. */
import { loadEntitySchema, newLoadRecord, waitsForPlanBinds, type LoadRecord } from '../../../shared/loads/loadRecord';

const at = '2026-12-07T00:00:00.000Z';
const entity = {
  id: 'l-1',
  status: 'running',
  table: 'account',
  container: 'incoming',
  blobName: 'account/a.csv',
  createdAt: at,
  updatedAt: at,
};

test('crossTableBindsJson is read back as the columns, validated: a JSON array of column names, at least one', () => {
  expect(loadEntitySchema.parse({ ...entity, crossTableBindsJson: '["primarycontactid"]' })).toMatchObject({
    crossTableBindsJson: ['primarycontactid'],
  });
  expect(loadEntitySchema.parse(entity).crossTableBindsJson).toBeUndefined();
  for (const bad of ['[]', '[1]', '"primarycontactid"', '[""]', '{'])
    expect(() => loadEntitySchema.parse({ ...entity, crossTableBindsJson: bad })).toThrow();
});

test('a complete load waits for its plan while it has cross-table binds, not released, and did not fail outright', () => {
  const load: LoadRecord = {
    ...newLoadRecord(
      { id: 'l-1', status: 'running', table: 'account', container: 'c', blobName: 'account/a.csv', source: 'blob' },
      at,
    ),
    crossTableBinds: ['primarycontactid'],
  };
  expect(waitsForPlanBinds(load)).toBe(true);
  expect(waitsForPlanBinds({ ...load, planBindsReleased: true })).toBe(false);
  expect(waitsForPlanBinds({ ...load, errorCode: 'FileUnreadable' })).toBe(false);
  expect(waitsForPlanBinds({ ...load, crossTableBinds: undefined })).toBe(false);
});
