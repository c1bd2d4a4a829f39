/**
 * A real third-party client, DynamicsWebApi v2, against the emulator over HTTP: what it gets here is
 * what it gets from Dataverse (ids from OData-EntityId, bodies, batch parsing, errors).
 */
import { expect } from '@jest/globals';
import { DynamicsWebApi } from 'dynamics-web-api';
import { startEmulator, type EmulatorHandle } from '../../../dev/emulator/index';
import { unsignedJwt } from './testRoute';

let emulator: EmulatorHandle;
let client: DynamicsWebApi;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  emulator = await startEmulator();
  const token = unsignedJwt({ sub: 'dwa-test', aud: emulator.url });
  client = new DynamicsWebApi({
    serverUrl: `${emulator.url}/`,
    dataApi: { version: '9.2' },
    onTokenRefresh: () => Promise.resolve(token),
  });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

interface Account {
  accountid?: string;
  name?: string;
  accountnumber?: string;
  revenue?: number;
}

describe('DynamicsWebApi v2 against the emulator', () => {
  test('create returns the new id; retrieve with select; update; retrieveMultiple with filter', async () => {
    const id = await client.create<Account, string>({
      collection: 'accounts',
      data: { name: 'Contoso', accountnumber: 'C-1' },
    });
    expect(id).toMatch(GUID);
    const got = await client.retrieve<Account>({ collection: 'accounts', key: id, select: ['name', 'accountnumber'] });
    expect(got).toMatchObject({ accountid: id, name: 'Contoso', accountnumber: 'C-1' });
    expect(got['@odata.etag' as keyof Account]).toMatch(/^W\/"\d+"$/);
    await client.update({ collection: 'accounts', key: id, data: { name: 'Contoso Ltd' } });
    const list = await client.retrieveMultiple<Account>({
      collection: 'accounts',
      select: ['name'],
      filter: "accountnumber eq 'C-1'",
    });
    expect(list.value.map((a) => a.name)).toEqual(['Contoso Ltd']);
  });

  test('create with return=representation gets the record back', async () => {
    const created = await client.create<Account, Account>({
      collection: 'accounts',
      data: { name: 'Fabrikam' },
      returnRepresentation: true,
      select: ['name'],
    });
    expect(created).toMatchObject({ name: 'Fabrikam', accountid: expect.stringMatching(GUID) });
  });

  test('upsert by alternate key creates, then updates the same record', async () => {
    const first = await client.upsert<Account, Account>({
      collection: 'accounts',
      key: "accountnumber='ALT-1'",
      data: { name: 'First' },
      returnRepresentation: true,
      select: ['name', 'accountnumber'],
    });
    expect(first).toMatchObject({ name: 'First', accountnumber: 'ALT-1' });
    const second = await client.upsert<Account, Account>({
      collection: 'accounts',
      key: "accountnumber='ALT-1'",
      data: { name: 'Second' },
      returnRepresentation: true,
      select: ['name'],
    });
    expect(second.accountid).toBe(first.accountid);
    expect(second.name).toBe('Second');
    expect(emulator.stats().recordsPerTable['account']).toBe(1);
  });

  test('a batch in a change set: creates with a $ reference, answered with ids in order', async () => {
    client.startBatch();
    await client.create({ collection: 'contacts', data: { firstname: 'Ann', lastname: 'Lee' }, contentId: '1' });
    await client.create({
      collection: 'accounts',
      data: { name: 'With contact', 'primarycontactid@odata.bind': '$1' },
    });
    await client.create({ collection: 'accounts', data: { name: 'Second' } });
    const results = await client.executeBatch();
    expect(results).toHaveLength(3);
    for (const r of results) expect(r).toMatch(GUID);
    const account = await client.retrieve<Record<string, unknown>>({
      collection: 'accounts',
      key: results[1] as string,
      select: ['name', '_primarycontactid_value'],
    });
    expect(account['_primarycontactid_value']).toBe(results[0]);
  });

  test('a failing change set rolls back every operation in it and the batch rejects', async () => {
    client.startBatch();
    await client.create({ collection: 'accounts', data: { name: 'Rolled back' } });
    await client.create({ collection: 'accounts', data: { name: 'x'.repeat(161) } });
    await expect(client.executeBatch()).rejects.toMatchObject([{ status: 400, error: { code: '0x80044331' } }]);
    expect(emulator.stats().recordsPerTable['account'] ?? 0).toBe(0);
  });

  test('a batch with continueOnError and a failing item: the others succeed and the error is in its place', async () => {
    client.startBatch();
    await client.create({ collection: 'accounts', data: { name: 'One' } });
    await client.create({ collection: 'accounts', data: { name: 'x'.repeat(161) } });
    await client.create({ collection: 'accounts', data: { name: 'Three' } });
    const results = await client.executeBatch({ continueOnError: true, inChangeSet: false });
    expect(results).toHaveLength(3);
    expect(results[0]).toMatch(GUID);
    expect(results[1]).toMatchObject({
      status: 400,
      error: {
        code: '0x80044331',
        message: expect.stringContaining(
          "The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'",
        ),
      },
    });
    expect(results[2]).toMatch(GUID);
    expect(emulator.stats().recordsPerTable['account']).toBe(2);
  });

  test('a batch without continueOnError stops at the failing item', async () => {
    client.startBatch();
    await client.create({ collection: 'accounts', data: { name: 'One' } });
    await client.create({ collection: 'accounts', data: { name: 'x'.repeat(161) } });
    await client.create({ collection: 'accounts', data: { name: 'Never' } });
    await expect(client.executeBatch({ inChangeSet: false })).rejects.toEqual([
      expect.any(String),
      expect.objectContaining({ status: 400, error: expect.objectContaining({ code: '0x80044331' }) }),
    ]);
    expect(emulator.stats().recordsPerTable['account']).toBe(1);
  });

  test('GET parts inside a batch come back parsed', async () => {
    const id = await client.create<Account, string>({ collection: 'accounts', data: { name: 'Readable' } });
    client.startBatch();
    await client.retrieve({ collection: 'accounts', key: id, select: ['name'] });
    await client.retrieveMultiple({ collection: 'accounts', select: ['name'] });
    const [one, many] = (await client.executeBatch()) as [Account, { value: Account[] }];
    expect(one.name).toBe('Readable');
    expect(many.value).toHaveLength(1);
  });
});
