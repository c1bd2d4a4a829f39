/** The solution operations through the emulator's real HTTP server, as the product's poller sees them. */
import type { Row, SolutionJson } from '../webApiJson';
import { startEmulator, type EmulatorHandle } from '../../../../dev/emulator/index';
import type { SolutionZipOptions } from '../../../../dev/emulator/solutions/solutionZip';
import { importParameters } from './solutionEmulatorHarness';

let emu: EmulatorHandle;
const headers = {
  Authorization: 'Bearer test',
  'Content-Type': 'application/json',
  Accept: 'application/json',
  'OData-Version': '4.0',
};

beforeAll(async () => {
  emu = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 20, runMs: 150 }, refusalStatus: 429 } });
});
afterAll(async () => {
  await emu.close();
});

/** A Web API call with the test's headers, its JSON body read back (undefined when empty). */
async function callWebApi(
  webApiUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; json: SolutionJson }> {
  const res = await fetch(webApiUrl + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as SolutionJson };
}
const api = (method: string, path: string, body?: unknown) => callWebApi(emu.webApiUrl, method, path, body);

/** Polls (one filtered query per sweep, like the product's poller) until every job has completed. */
async function waitForAll(ids: string[]): Promise<Map<unknown, Row>> {
  const filter = encodeURIComponent(ids.map((id) => `asyncoperationid eq ${id}`).join(' or '));
  for (let sweep = 0; sweep < 200; sweep++) {
    const res = await api('GET', `asyncoperations?$select=statecode,statuscode,friendlymessage&$filter=${filter}`);
    expect(res.status).toBe(200);
    if (res.json.value.length === ids.length && res.json.value.every((r) => r.statecode === 3)) {
      return new Map(res.json.value.map((r) => [r.asyncoperationid, r]));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('jobs did not complete');
}

test('imports run one after another over HTTP; refusals are 429 with Retry-After; the poller query is counted', async () => {
  const zips: SolutionZipOptions[] = [
    { uniqueName: 'http_ok', version: '1.0.0.0' },
    { uniqueName: 'http_bad', corrupt: 'badXml' },
  ];
  const ids: string[] = [];
  for (const zip of zips) {
    let submitted = await api('POST', 'ImportSolutionAsync', importParameters(zip));
    while (submitted.status === 429) {
      expect(submitted.json.error.code).toBe('0x80071151');
      expect(Number(submitted.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      submitted = await api('POST', 'ImportSolutionAsync', importParameters(zip));
    }
    expect(submitted.status).toBe(200);
    ids.push(submitted.json.AsyncOperationId);
  }
  const before = (emu.stats().solutions as { solutionQueries: number }).solutionQueries;
  const jobs = await waitForAll(ids);
  const after = (emu.stats().solutions as { solutionQueries: number }).solutionQueries;
  expect(after).toBeGreaterThan(before);
  expect(jobs.get(ids[0]!)?.statuscode).toBe(30);
  expect(jobs.get(ids[1]!)?.statuscode).toBe(31);
  expect(jobs.get(ids[1]!)?.friendlymessage).toContain('not well-formed XML');

  const solutions = await api('GET', "solutions?$filter=uniquename eq 'http_ok'&$select=uniquename,version,ismanaged");
  expect(solutions.json.value).toEqual([
    expect.objectContaining({ uniquename: 'http_ok', version: '1.0.0.0', ismanaged: false }),
  ]);
});

test('configure({ solutions }) on a running emulator applies to operations submitted after the call', async () => {
  const slow = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 0, runMs: 600_000 } } });
  const call = (method: string, path: string, body?: unknown) => callWebApi(slow.webApiUrl, method, path, body);
  try {
    const first = await call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'cfg_first' }));
    expect(first.status).toBe(200);
    expect((await call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'cfg_second' }))).status).toBe(
      400,
    );

    slow.configure({ solutions: { refusalStatus: 429, timing: { runMs: 100 } } });
    const refused = await call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'cfg_second' }));
    expect(refused.status).toBe(429);
    // The running operation kept the ten minutes it was given when submitted.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(500);
    expect((await call('GET', `asyncoperations(${first.json.AsyncOperationId})`)).json.statecode).not.toBe(3);

    expect(
      (await call('PATCH', `asyncoperations(${first.json.AsyncOperationId})`, { statecode: 3, statuscode: 32 })).status,
    ).toBe(204);
    const second = await call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'cfg_second' }));
    expect(second.status).toBe(200);
    for (let poll = 0; ; poll++) {
      const row = (await call('GET', `asyncoperations(${second.json.AsyncOperationId})`)).json;
      if (row.statecode === 3) {
        expect(row.statuscode).toBe(30);
        break;
      }
      if (poll > 400) throw new Error('the operation submitted after configure did not finish in its 100 ms');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(slow.stats().solutions).toMatchObject({ submitted: 2, refused: 2 });
  } finally {
    await slow.close();
  }
});
