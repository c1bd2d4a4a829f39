/**
 * The emulator's write log (`writeLog` option, `GET /_emulator/writes`): every create asked for, with the Web API
 * request it came in, duplicate-key refusals included. Tests count how often a chunk was sent with it.
 */
import { startEmulator, type EmulatorHandle, type WriteLogEntry } from '../../../dev/emulator/index';
import { auth, batchBody, createPart } from './testRoute';

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(() => emulator.close());

const ids = ['00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a002'];
const target = (id: string) => ({ '@odata.type': 'Microsoft.Dynamics.CRM.account', accountid: id, name: `n ${id}` });

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${emulator.webApiUrl}${path}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json', ...headers },
    body,
  });
  await res.text();
  return res.status;
}

test('off by default: nothing is logged', async () => {
  expect(await post('accounts', JSON.stringify({ name: 'unlogged' }))).toBe(204);
  expect(emulator.writes()).toEqual([]);
});

test('each create attempted is logged with its request; a duplicate-key refusal too', async () => {
  emulator.configure({ writeLog: true });
  const bulk = 'accounts/Microsoft.Dynamics.CRM.CreateMultiple';
  expect(await post(bulk, JSON.stringify({ Targets: ids.map(target) }))).toBe(200);
  // The same two again: refused at the first (duplicate key), so the second is never attempted.
  expect(await post(bulk, JSON.stringify({ Targets: ids.map(target) }))).toBe(412);
  const boundary = 'batch_w';
  const batch = batchBody(boundary, [
    createPart('accounts', { accountid: ids[0], name: 'again' }),
    createPart('accounts', { name: 'new' }),
  ]);
  const batchHeaders = { 'Content-Type': `multipart/mixed; boundary=${boundary}`, Prefer: 'odata.continue-on-error' };
  expect(await post('$batch', batch, batchHeaders)).toBe(200);

  const writes = emulator.writes();
  const [first, second, third] = [...new Set(writes.map((w) => w.request))];
  expect(writes).toEqual<WriteLogEntry[]>([
    { request: first!, call: `POST ${bulk}`, table: 'account', id: ids[0]! },
    { request: first!, call: `POST ${bulk}`, table: 'account', id: ids[1]! },
    { request: second!, call: `POST ${bulk}`, table: 'account', id: ids[0]! },
    { request: third!, call: 'POST $batch', table: 'account', id: ids[0]! },
    { request: third!, call: 'POST $batch', table: 'account', id: writes[4]!.id },
  ]);
  expect(writes[4]!.id).toMatch(/^[0-9a-f-]{36}$/);
  expect(first! < second! && second! < third!).toBe(true);

  const response = await fetch(`${emulator.url}/_emulator/writes`);
  const overHttp = (await response.json()) as { writes: WriteLogEntry[] };
  expect(overHttp.writes).toEqual(writes);
  emulator.reset();
  expect(emulator.writes()).toEqual([]);
});
