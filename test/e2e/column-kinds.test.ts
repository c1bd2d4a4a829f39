/**
 * Every column kind of issue 16 loaded end to end — local host (dist/), Azurite, the Dataverse emulator — and
 * checked through the emulator's Web API: polymorphic lookups (per-target columns, a `.type` column, by key),
 * owners by user or team, state and status, multi-select choices, createdon, file and image columns (the file read
 * back by download) and N:N pair files; each bad input fails its row alone, naming row, column and value, and an
 * unknown relationship fails the load naming it.
 */
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { waitForLoad, type LoadView } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import type { LoadProfileInput } from '../../shared/ingestion/loadProfile';
import { loadIdFor } from '../../shared/loads/loadScan';

jest.setTimeout(180_000);

let stack: LocalStack;
let blobs: BlobServiceClient;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 500,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
  });
  blobs = BlobServiceClient.fromConnectionString(stack.storage);
  const attachments = blobs.getContainerClient('attachments');
  await attachments.createIfNotExists();
  await attachments.getBlockBlobClient('notes/a.txt').uploadData(Buffer.from('file content, byte for byte\n'), {
    blobHTTPHeaders: { blobContentType: 'text/plain' },
  });
  await attachments.getBlockBlobClient('big.bin').uploadData(Buffer.alloc(2048, 7));
});
afterAll(async () => {
  await stack?.stop();
});

type Json = Record<string, unknown>;

async function webApi(method: string, path: string, body?: Json): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${stack.dataverse}${path}`, {
    method,
    headers: { authorization: 'Bearer test', accept: 'application/json', 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
}
const create = async (set: string, body: Json) => expect((await webApi('POST', set, body)).status).toBe(204);
const one = async (set: string, select: string, filter: string): Promise<Json> => {
  const found = await webApi('GET', `${set}?$select=${select}&$filter=${encodeURIComponent(filter)}`);
  expect(found.body.value).toHaveLength(1);
  return (found.body.value as Json[])[0]!;
};
const none = async (set: string, filter: string) =>
  expect((await webApi('GET', `${set}?$filter=${encodeURIComponent(filter)}`)).body.value).toHaveLength(0);

let dropped = 0;
/** Drops a file into incoming/{table}/ with its profile in blob metadata and waits for the load to end. */
async function drop(table: string, text: string, profile: LoadProfileInput = {}): Promise<LoadView> {
  const name = `${table}/kinds-${++dropped}.csv`;
  const uploaded = await blobs
    .getContainerClient('incoming')
    .getBlockBlobClient(name)
    .uploadData(Buffer.from(text), { metadata: { loadprofile: JSON.stringify(profile) } });
  const id = loadIdFor({ container: 'incoming', name, etag: uploaded.etag!, metadata: {} });
  return waitForLoad(() => stack.api, id, { timeoutMs: 90_000 });
}

async function failures(loadId: string): Promise<Map<number, string>> {
  const table = TableClient.fromConnectionString(stack.storage, 'loadrows', { allowInsecureConnection: true });
  const found = new Map<number, string>();
  for await (const e of table.listEntities<{ rowNumber: number; message: string }>({
    queryOptions: { filter: `PartitionKey eq '${loadId}'` },
  }))
    found.set(e.rowNumber, e.message);
  return found;
}

const ids = {
  account: '10000000-0000-0000-0000-000000000001',
  contact: '20000000-0000-0000-0000-000000000002',
  alice: '30000000-0000-0000-0000-000000000003',
  twin1: '30000000-0000-0000-0000-000000000004',
  twin2: '30000000-0000-0000-0000-000000000005',
  team: '40000000-0000-0000-0000-000000000006',
  lead1: '50000000-0000-0000-0000-000000000007',
  lead2: '50000000-0000-0000-0000-000000000008',
};

describe('column kinds through the host, Azurite and the emulator', () => {
  beforeAll(async () => {
    await create('accounts', { accountid: ids.account, name: 'Kinds parent', accountnumber: 'KP/1' });
    await create('contacts', { contactid: ids.contact, lastname: 'Kinds parent' });
    await create('systemusers', { systemuserid: ids.alice, fullname: 'Alice', domainname: 'alice@contoso.com' });
    for (const id of [ids.twin1, ids.twin2])
      await create('systemusers', { systemuserid: id, fullname: 'Twin', internalemailaddress: 'twin@contoso.com' });
    await create('teams', { teamid: ids.team, name: 'Sales Team' });
    await create('leads', { leadid: ids.lead1, lastname: 'Lead one' });
    await create('leads', { leadid: ids.lead2, lastname: 'Lead two' });
  });

  it('polymorphic lookups: per-target columns, a .type column, by alternate key; an unknown target fails its row', async () => {
    const perTarget = await drop(
      'contact',
      [
        'lastname,parentcustomerid@account,parentcustomerid@contact',
        `PT account,${ids.account},`,
        `PT contact,,${ids.contact}`,
      ].join('\r\n'),
      { checkRequired: false },
    );
    expect(perTarget).toMatchObject({ status: 'succeeded', counts: { succeeded: 2, failed: 0 } });
    // The profile names the key attribute per target table: the account cells hold account numbers.
    const byKey = await drop('contact', ['lastname,parentcustomerid@account', 'PT key,KP/1'].join('\r\n'), {
      checkRequired: false,
      lookups: { parentcustomerid: { keys: { account: 'accountnumber' } } },
    });
    expect(byKey).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    const bound = async (lastname: string) =>
      (await one('contacts', '_parentcustomerid_value', `lastname eq '${lastname}'`))._parentcustomerid_value;
    expect(await bound('PT account')).toBe(ids.account);
    expect(await bound('PT contact')).toBe(ids.contact);
    expect(await bound('PT key')).toBe(ids.account);

    const typed = await drop(
      'contact',
      [
        'lastname,parentcustomerid,parentcustomerid.type',
        `TY account,${ids.account},account`,
        `TY lead,${ids.account},lead`,
        `TY contact,${ids.contact},contacts`,
      ].join('\r\n'),
      { checkRequired: false },
    );
    expect(typed).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 2, failed: 1 } });
    expect(await bound('TY account')).toBe(ids.account);
    expect(await bound('TY contact')).toBe(ids.contact);
    await none('contacts', "lastname eq 'TY lead'");
    expect((await failures(typed.id)).get(2)).toBe(
      "row 2, column 'parentcustomerid.type': 'lead' is not a target of parentcustomerid (allowed: account, contact)",
    );
  });

  it('notes with attachments load as an ordinary table: objectid@account, documentbody base64', async () => {
    const pdf = Buffer.from('%PDF-1.4 tiny').toString('base64');
    const view = await drop(
      'annotation',
      [
        'subject,objectid@account,filename,mimetype,documentbody',
        `NA note,${ids.account},a.pdf,application/pdf,${pdf}`,
      ].join('\r\n'),
    );
    expect(view).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    expect(await one('annotations', '_objectid_value,documentbody,filename', "subject eq 'NA note'")).toMatchObject({
      _objectid_value: ids.account,
      documentbody: pdf,
      filename: 'a.pdf',
    });
  });

  it('owner by user (domainname / e-mail) or team name; no match and an ambiguous owner fail their rows', async () => {
    const view = await drop(
      'account',
      [
        'name,ownerid',
        'OW alice,alice@contoso.com',
        'OW team,Sales Team',
        'OW nobody,nobody@contoso.com',
        'OW twin,twin@contoso.com',
        'OW alice again,ALICE@contoso.com',
      ].join('\r\n'),
    );
    expect(view).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 3, failed: 2 } });
    const owner = async (name: string) => (await one('accounts', '_ownerid_value', `name eq '${name}'`))._ownerid_value;
    expect(await owner('OW alice')).toBe(ids.alice);
    expect(await owner('OW alice again')).toBe(ids.alice);
    expect(await owner('OW team')).toBe(ids.team);
    const failed = await failures(view.id);
    expect(failed.get(3)).toBe(
      "row 3, column 'ownerid': 'nobody@contoso.com' matches no user (domainname or internalemailaddress)",
    );
    expect(failed.get(4)).toMatch(/^row 4, column 'ownerid': 'twin@contoso\.com' is ambiguous: it matches 2 users/);
    await none('accounts', "name eq 'OW nobody'");
  });

  it('state and status by label or value; a status of another state fails its row', async () => {
    const view = await drop(
      'account',
      [
        'name,statecode,statuscode',
        'ST inactive,Inactive,Inactive',
        'ST by value,1,2',
        'ST wrong,Active,Inactive',
      ].join('\r\n'),
    );
    expect(view).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 2, failed: 1 } });
    for (const name of ['ST inactive', 'ST by value'])
      expect(await one('accounts', 'statecode,statuscode', `name eq '${name}'`)).toMatchObject({
        statecode: 1,
        statuscode: 2,
      });
    expect((await failures(view.id)).get(3)).toBe(
      "row 3, column 'statuscode': status Inactive (2) belongs to state Inactive (1), not to Active (0)",
    );
    await none('accounts', "name eq 'ST wrong'");
  });

  it('multi-select choices by label (escaped separator) or value; an unknown label fails its row', async () => {
    const view = await drop(
      'new_document',
      ['new_name,new_tags', 'MS one,Red;Green\\; Blue', 'MS two,100000002', 'MS bad,Red;Purple'].join('\r\n'),
    );
    expect(view).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 2, failed: 1 } });
    expect((await one('new_documents', 'new_tags', "new_name eq 'MS one'")).new_tags).toBe('100000000,100000001');
    expect((await one('new_documents', 'new_tags', "new_name eq 'MS two'")).new_tags).toBe('100000002');
    expect((await failures(view.id)).get(3)).toMatch(
      /^row 3, column 'new_tags': 'Purple' is not an option of new_tags \(100000000 Red, 100000001 Green; Blue, 100000002 Yellow\)$/,
    );
  });

  it('createdon is loaded into overriddencreatedon', async () => {
    const view = await drop('account', ['name,createdon', 'CO old,2019-03-04'].join('\r\n'));
    expect(view).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    expect(String((await one('accounts', 'createdon', "name eq 'CO old'")).createdon)).toMatch(/^2019-03-04/);
  });

  it('file and image columns: blob uploaded (read back by download), image as base64; bad paths and sizes fail their rows', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]).toString('base64');
    const account = new URL(stack.dataverse).host; // not the storage account
    const view = await drop(
      'new_document',
      [
        'new_name,new_file,new_thumbnail',
        `FI ok,attachments/notes/a.txt,"data:image/png;base64,${png}"`,
        `FI outside,https://${account}/attachments/notes/a.txt,`,
        'FI missing,attachments/notes/missing.txt,',
        'FI big,attachments/big.bin,',
      ].join('\r\n'),
    );
    expect(view).toMatchObject({ counts: { succeeded: 1, failed: 3 } });
    const ok = await one('new_documents', 'new_documentid,new_thumbnail,new_file_name', "new_name eq 'FI ok'");
    expect(ok.new_thumbnail).toBe(png);
    expect(ok.new_file_name).toBe('a.txt');
    const download = await fetch(`${stack.dataverse}new_documents(${String(ok.new_documentid)})/new_file/$value`, {
      headers: { authorization: 'Bearer test' },
    });
    expect(await download.text()).toBe('file content, byte for byte\n');
    const failed = await failures(view.id);
    expect(failed.get(2)).toMatch(
      /^row 2, column 'new_file': '.*attachments\/notes\/a\.txt' is outside the load's storage account/,
    );
    expect(failed.get(3)).toBe("row 3, column 'new_file': no blob 'notes/missing.txt' in container 'attachments'");
    expect(failed.get(4)).toMatch(
      /^row 4, column 'new_file': 2(\.0)? KB is over the 1(\.0)? KB new_file takes \(MaxSizeInKB 1\)$/,
    );
  });

  it('N:N pair file: associations made once (a re-run is idempotent), disassociate as delete; an unknown relationship fails the load', async () => {
    const pairs = [
      'account.accountnumber,leadid',
      `KP/1,${ids.lead1}`,
      `KP/1,${ids.lead2}`,
      `NO-SUCH,${ids.lead1}`,
    ].join('\r\n');
    const profile = { relationship: 'accountleads_association' };
    const first = await drop('account', pairs, profile);
    expect(first).toMatchObject({ counts: { succeeded: 2, failed: 1 } });
    expect((await failures(first.id)).get(3)).toBe(
      "row 3, column 'account.accountnumber': no account records have accountnumber = 'NO-SUCH'",
    );
    const related = async () =>
      ((await webApi('GET', `accounts(${ids.account})/accountleads_association?$select=leadid`)).body.value as Json[])
        .map((l) => l.leadid)
        .sort();
    expect(await related()).toEqual([ids.lead1, ids.lead2]);
    const again = await drop('account', pairs, profile);
    expect(again).toMatchObject({ counts: { succeeded: 2, failed: 1 } });
    expect(await related()).toEqual([ids.lead1, ids.lead2]);

    const removed = await drop('account', ['accountid,lead', `${ids.account},${ids.lead2}`].join('\r\n'), {
      ...profile,
      operation: 'delete',
    });
    expect(removed).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    expect(await related()).toEqual([ids.lead1]);

    const unknown = await drop('account', pairs, { relationship: 'accountleads_associaton' });
    expect(unknown.status).toBe('failed');
    expect(unknown.message).toMatch(/the N:N relationship 'accountleads_associaton' does not exist/);
  });
});
