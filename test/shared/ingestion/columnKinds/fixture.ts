/** Attribute facts as the wiring will build them from the emulator's default schema (contact, task, new_document). */
import type { KindAttribute, KindTable } from '../../../../shared/ingestion/columnKinds';

export const parentcustomerid: KindAttribute = {
  logicalName: 'parentcustomerid',
  kind: 'lookup',
  targets: [
    { table: 'account', navigationProperty: 'parentcustomerid_account', entitySetName: 'accounts' },
    { table: 'contact', navigationProperty: 'parentcustomerid_contact', entitySetName: 'contacts' },
  ],
};

export const tags: KindAttribute = {
  logicalName: 'new_tags',
  kind: 'multiSelect',
  options: [
    { value: 100000000, labels: ['Red'] },
    { value: 100000001, labels: ['Green; Blue'] },
    { value: 100000002, labels: ['Yellow', 'Jaune'] },
  ],
};

export const contact: KindTable = {
  logicalName: 'contact',
  attributes: {
    parentcustomerid,
    ownerid: {
      logicalName: 'ownerid',
      kind: 'owner',
      targets: [
        { table: 'systemuser', navigationProperty: 'ownerid', entitySetName: 'systemusers' },
        { table: 'team', navigationProperty: 'ownerid', entitySetName: 'teams' },
      ],
    },
    lastname: { logicalName: 'lastname', kind: 'other' },
  },
};

export const task: KindTable = {
  logicalName: 'task',
  statesSettableOnCreate: [0],
  attributes: {
    statecode: {
      logicalName: 'statecode',
      kind: 'state',
      options: [
        { value: 0, labels: ['Open'] },
        { value: 1, labels: ['Completed'] },
        { value: 2, labels: ['Canceled'] },
      ],
    },
    statuscode: {
      logicalName: 'statuscode',
      kind: 'status',
      options: [
        { value: 2, labels: ['Not Started'], state: 0 },
        { value: 3, labels: ['In Progress'], state: 0 },
        { value: 5, labels: ['Completed'], state: 1 },
        { value: 6, labels: ['Canceled'], state: 2 },
      ],
    },
  },
};

export const account: KindTable = {
  logicalName: 'account',
  attributes: {
    statecode: {
      logicalName: 'statecode',
      kind: 'state',
      options: [
        { value: 0, labels: ['Active'] },
        { value: 1, labels: ['Inactive'] },
      ],
    },
    statuscode: {
      logicalName: 'statuscode',
      kind: 'status',
      options: [
        { value: 1, labels: ['Active'], state: 0 },
        { value: 2, labels: ['Inactive'], state: 1 },
      ],
    },
  },
};

export const file: KindAttribute = { logicalName: 'new_file', kind: 'file', maxSizeInKB: 1 };
export const image: KindAttribute = { logicalName: 'new_thumbnail', kind: 'image', maxSizeInKB: 1 };
