/** Pair files → associate requests, replayed against the emulator's N:N surface. */
import {
  associateRequest,
  associationOutcome,
  disassociateRequest,
  planPairFile,
  readPair,
  type KindRelationship,
} from '../../../../shared/ingestion/columnKinds';
import { harness, idFromEntityId } from '../../../dev/emulator/records/harness';

const accountLeads: KindRelationship = {
  schemaName: 'accountleads_association',
  entity1: {
    table: 'account',
    entitySetName: 'accounts',
    primaryIdAttribute: 'accountid',
    navigationProperty: 'accountleads_association',
  },
  entity2: {
    table: 'lead',
    entitySetName: 'leads',
    primaryIdAttribute: 'leadid',
    navigationProperty: 'accountleads_association',
  },
};
const self: KindRelationship = {
  schemaName: 'new_account_account',
  entity1: {
    table: 'account',
    entitySetName: 'accounts',
    primaryIdAttribute: 'accountid',
    navigationProperty: 'new_account_account_1',
  },
  entity2: {
    table: 'account',
    entitySetName: 'accounts',
    primaryIdAttribute: 'accountid',
    navigationProperty: 'new_account_account_2',
  },
};

test('plans a pair file by table, id attribute, key or entityN columns', () => {
  const byId = planPairFile([accountLeads], 'AccountLeads_Association', ['accountid', 'lead']);
  expect(byId).toEqual({
    ok: true,
    plan: { relationship: accountLeads, entity1: { column: 'accountid' }, entity2: { column: 'lead' } },
  });
  const byKey = planPairFile([accountLeads], 'accountleads_association', ['account.accountnumber', 'entity2']);
  expect(byKey.ok && byKey.plan.entity1).toEqual({ column: 'account.accountnumber', keyAttribute: 'accountnumber' });
  const selfPlan = planPairFile([self], 'new_account_account', ['entity1', 'entity2.accountnumber']);
  expect(selfPlan.ok).toBe(true);
});

test('a relationship that does not exist, or missing/duplicate side columns, fail the load naming them', () => {
  expect(planPairFile([accountLeads], 'new_nothing', ['a', 'b'])).toEqual({
    ok: false,
    problems: ["the N:N relationship 'new_nothing' does not exist (known: accountleads_association)"],
  });
  expect(planPairFile([accountLeads], 'accountleads_association', ['accountid'])).toEqual({
    ok: false,
    problems: ['no column for the lead side of accountleads_association (lead, leadid or lead.<key>)'],
  });
  const two = planPairFile([accountLeads], 'accountleads_association', ['account', 'accountid', 'lead']);
  expect(!two.ok && two.problems).toEqual(["'account' and 'accountid' both name the account side: keep one"]);
  expect(planPairFile([self], 'new_account_account', ['account', 'accountid']).ok).toBe(false);
});

test('reads each row; a bad id fails the row naming row, column and value', () => {
  const plan = planPairFile([accountLeads], 'accountleads_association', ['accountid', 'lead.emailaddress1']);
  if (!plan.ok) throw new Error('plan');
  const id = 'AAAAAAAA-0000-0000-0000-000000000001';
  expect(readPair(plan.plan, { accountid: id, 'lead.emailaddress1': 'a@b.c' }, 1)).toEqual({
    ok: true,
    value: {
      entity1: { kind: 'id', id: id.toLowerCase() },
      entity2: { kind: 'key', attribute: 'emailaddress1', value: 'a@b.c' },
    },
  });
  const bad = readPair(plan.plan, { accountid: 'x', 'lead.emailaddress1': 'a@b.c' }, 4);
  expect(!bad.ok && bad.fault.message).toBe(
    "row 4, column 'accountid': 'x' is not a GUID (the id of the account record)",
  );
  const empty = readPair(plan.plan, { accountid: id, 'lead.emailaddress1': '' }, 5);
  expect(!empty.ok && empty.fault.column).toBe('lead.emailaddress1');
});

test('the requests associate against the emulator; a repeat counts as done; disassociate removes the pair', async () => {
  const { call } = harness();
  const account = idFromEntityId(await call('POST', 'accounts', { body: { name: 'A' } }));
  const lead = idFromEntityId(await call('POST', 'leads', { body: { lastname: 'L' } }));
  const associate = associateRequest(accountLeads, account, lead);
  const first = await call(associate.method, associate.path, { body: associate.body });
  expect(associationOutcome(first.status, first.json?.error?.code)).toBe('done');
  const again = await call(associate.method, associate.path, { body: associate.body });
  expect(again.status).toBe(412);
  expect(associationOutcome(again.status, again.json.error.code)).toBe('done');
  expect(associationOutcome(404, '0x80040217')).toBe('failed');
  const disassociate = disassociateRequest(accountLeads, account, lead);
  expect((await call(disassociate.method, disassociate.path)).status).toBe(204);
  expect((await call('GET', `accounts(${account})/accountleads_association`)).json.value).toEqual([]);
});
