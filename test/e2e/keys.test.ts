/**
 * Key literals end to end (issue 20; docs/design.md "Key literals"), through the local host (child process running
 * dist/), Azurite and the emulator:
 * - the realistic case: contacts keyed by e-mail, a 2-row CSV with no profile (an upsert, as UpsertMultiple),
 *   loaded twice: each e-mail exactly once and unmangled;
 * - a fast-check property over key values with `@ % / ? # & + ' " space`, unicode and leading/trailing spaces, in
 *   `batch` and `bulk` execution modes: upserted, upserted again, bound by a lookup column, deleted by key; each
 *   value ends stored exactly once and exactly as written, bound, then gone. Values Dataverse can't take in a key
 *   URL (`/ # < > * % & : \ ? +`) go by id, resolved with a `$filter` query.
 * The values of one mode are batched into a few loads, so the run stays short.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import fc from 'fast-check';
import { postLoad, waitForLoad, type LoadView } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';

jest.setTimeout(300_000);

let stack: LocalStack;
let blobs: BlobServiceClient;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 300,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    emulator: { latency: { baseMs: 1, perOperationMs: 0, perTable: {} } },
  });
  blobs = BlobServiceClient.fromConnectionString(stack.storage);
});
afterAll(async () => {
  await stack?.stop();
});

async function emulatorGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.dataverse}${path}`, {
    headers: { authorization: 'Bearer test', accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

interface Contact {
  contactid: string;
  emailaddress1: string | null;
  lastname: string | null;
}
const contacts = async () => (await emulatorGet<{ value: Contact[] }>('contacts?$select=emailaddress1,lastname')).value;

interface Account {
  name: string;
  _primarycontactid_value: string | null;
}
const accounts = async () =>
  (await emulatorGet<{ value: Account[] }>('accounts?$select=name,_primarycontactid_value')).value;

/** RFC 4180 with every field quoted, so commas, quotes and edge spaces survive as written. */
const csv = (header: string[], rows: string[][]) =>
  [header, ...rows].map((fields) => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')).join('\r\n') + '\r\n';

async function setProfile(table: string, profile: Record<string, unknown> | undefined): Promise<void> {
  const blob = blobs.getContainerClient('incoming').getBlockBlobClient(`${table}/_profile.json`);
  if (profile === undefined) await blob.deleteIfExists();
  else await blob.upload(JSON.stringify(profile), Buffer.byteLength(JSON.stringify(profile)));
}

async function load(table: string, text: string, query = ''): Promise<LoadView> {
  const { id } = await postLoad(stack.api, table, text, query);
  return waitForLoad(() => stack.api, id, { timeoutMs: 120_000, pollMs: 200 });
}

const count = (list: (string | null)[], value: string) => list.filter((v) => v === value).length;

test('contacts keyed by e-mail, loaded twice with no profile: each e-mail once, exactly as written', async () => {
  stack.emulator!.reset();
  await setProfile('contact', undefined);
  const file =
    'firstname,lastname,emailaddress1\r\nAda,Lovelace,ada@example.com\r\nGrace,Hopper,grace+navy@example.com\r\n';
  for (let pass = 0; pass < 2; pass++) {
    const view = await load('contact', file);
    expect(view).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2, failed: 0 } });
  }
  const stored = (await contacts()).map((c) => c.emailaddress1);
  expect(stored.sort()).toEqual(['ada@example.com', 'grace+navy@example.com']);
});

/** Key values: the characters the issue names, unicode, and spaces at either end; at least one non-space. */
const keyValue = fc
  .tuple(
    fc.constantFrom('', ' ', '  '),
    fc.string({
      unit: fc.constantFrom(
        ...'aZ09._-'.split(''),
        ...'@%/?#&+\'" ,=()<>*:\\'.split(''),
        'é',
        'ß',
        '漢',
        '😀',
        '\u00a0',
      ),
      minLength: 1,
      maxLength: 14,
    }),
    fc.constantFrom('', ' ', '  '),
  )
  .map(([lead, body, trail]) => `${lead}${body}${trail}`)
  .filter((v) => v.trim() !== '');

/** Kept apart case- and space-insensitively: Dataverse's key index compares that way; the property is about bytes. */
const keyValues = fc.uniqueArray(keyValue, {
  minLength: 20,
  maxLength: 30,
  selector: (v) => v.trim().toLowerCase(),
});

/** Always in the set: the realistic e-mails and one value per character class. */
const fixed = ['ada@example.com', 'a+b@example.com', "O'Neil & Co", '50% off', 'x/y?z#w', ' spaced ', '"quoted"'];

describe.each(['batch', 'bulk'] as const)('key values through the host in %s mode', (mode) => {
  test('upsert, upsert again, bind by lookup, delete by key: each value stored once, exactly, bound, then gone', async () => {
    await fc.assert(
      fc.asyncProperty(keyValues, async (generated) => {
        const values = [
          ...fixed,
          ...generated.filter((v) => !fixed.some((f) => f.trim().toLowerCase() === v.trim().toLowerCase())),
        ];
        stack.emulator!.reset();
        await setProfile('contact', { executionMode: mode });
        // Two rows with the same key in one load (the first two values again, one of them with a '+').
        const rows = values.map((v, i) => [`F${i}`, `L${i}`, v]);
        const first = await load(
          'contact',
          csv(['firstname', 'lastname', 'emailaddress1'], [...rows, rows[0]!, rows[1]!]),
        );
        expect(first).toMatchObject({ status: 'succeeded', counts: { failed: 0, notProcessed: 0 } });
        let stored = await contacts();
        expect(stored).toHaveLength(values.length);
        for (const v of values)
          expect(
            count(
              stored.map((c) => c.emailaddress1),
              v,
            ),
          ).toBe(1);

        // Upserted again by the same values: updated in place, nothing new.
        const second = await load(
          'contact',
          csv(
            ['firstname', 'lastname', 'emailaddress1'],
            values.map((v, i) => [`F${i}`, `M${i}`, v]),
          ),
        );
        expect(second).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
        stored = await contacts();
        expect(stored).toHaveLength(values.length);
        const byEmail = new Map(stored.map((c) => [c.emailaddress1, c]));
        values.forEach((v, i) => expect(byEmail.get(v)?.lastname).toBe(`M${i}`));

        // Bound by a lookup column to the contact's alternate key.
        await setProfile('account', {
          executionMode: mode,
          operation: 'create',
          lookups: { primarycontactid: { attribute: 'primarycontactid', by: 'emailaddress1' } },
        });
        const bound = await load(
          'account',
          csv(
            ['name', 'primarycontactid'],
            values.map((v, i) => [`Account ${i}`, v]),
          ),
        );
        expect(bound).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
        const byName = new Map((await accounts()).map((a) => [a.name, a._primarycontactid_value]));
        values.forEach((v, i) => expect(byName.get(`Account ${i}`)).toBe(byEmail.get(v)!.contactid));

        // Deleted by key.
        await setProfile('contact', { executionMode: mode, operation: 'delete' });
        const deleted = await load(
          'contact',
          csv(
            ['emailaddress1'],
            values.map((v) => [v]),
          ),
        );
        expect(deleted).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
        expect(await contacts()).toHaveLength(0);
      }),
      { numRuns: 1 },
    );
  });
});
