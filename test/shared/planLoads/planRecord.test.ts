/** The plan record as a Table entity: JSON properties validated when read, undefined fields left out. */
import { expect } from '@jest/globals';
import { ZodError } from 'zod';
import { newPlanRecord, planFromEntity, planToEntity, type PlanRecord } from '../../../shared/planLoads/planRecord';

const plan: PlanRecord = {
  ...newPlanRecord(
    { id: 'p-1', status: 'running', source: 'blob', container: 'incoming', blobName: '_plans/x.zip' },
    '2026-12-07T03:00:00.000Z',
  ),
  format: 'zip',
  stage: 1,
  order: {
    stages: [['account'], ['contact']],
    deferred: [
      {
        table: 'account',
        attribute: 'primarycontactid',
        target: 'contact',
        required: false,
        reason: 'cycle',
        why: 'bound in a second pass to break the cycle account → contact → account',
      },
    ],
    reasons: { account: ['no parent in the plan'], contact: ['after account (contact.parentcustomerid → account)'] },
  },
  tables: [
    {
      table: 'account',
      source: { name: 'accounts.csv', kind: 'file' },
      blobName: '_plans/p-1/account/accounts.csv',
      loadId: 'l-1',
      stage: 0,
      crossTableBinds: ['primarycontactid'],
    },
  ],
  counts: { total: 3, succeeded: 2, failed: 1, notProcessed: 0 },
};

test('a record survives the trip through its entity', () => {
  const entity = planToEntity(plan);
  expect(entity).not.toHaveProperty('order');
  expect(typeof entity.orderJson).toBe('string');
  expect(Object.values(entity)).not.toContain(undefined);
  expect(planFromEntity({ ...entity, etag: 'W/"1"', timestamp: 'x' })).toEqual(plan);
});

test('a property that is not the JSON it should be is an error naming it', () => {
  const entity = planToEntity(plan);
  expect(() => planFromEntity({ ...entity, tablesJson: '[{"table":"account"}]' })).toThrow(ZodError);
  expect(() => planFromEntity({ ...entity, orderJson: '{not json' })).toThrow(/orderJson/);
  expect(() => planFromEntity({ ...entity, status: 'paused' })).toThrow(/status/);
});
