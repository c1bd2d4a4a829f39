/**
 * Replays Microsoft's file-column exchanges ("Use file column data") against the emulator. The published bodies hold
 * placeholders (`<accountid>`, continuation tokens, block data), so each is filled with live values first; the answer
 * must have the fixture's status, headers and body properties (values such as tokens and sizes differ by nature).
 */
import { startEmulator, type EmulatorHandle } from '../../../../dev/emulator/index';
import { FILE_FIXTURES } from './fileFixtures';
import { normalize, parseJsonOrText, parseRequestFixture, parseResponseFixture } from './httpFixture';

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

const AUTH = { Authorization: 'Bearer conformance' };
const ACCOUNT = '00000000-0000-0000-0000-0000000000f1';
const BLOCK_IDS = [
  'OThjODg5NjgtNzM2Zi00YmI1LTgyNzktNmU2NzgwMTRiMzFk',
  'ZWUxNzcxZjgtNjEwOC00NDk1LWI2NzMtODFkNDM3YjMyNTFm',
  'YWMwYzhjMzEtY2U0My00NjUwLThlZmEtNjg3NDM5ZTA1MGJi',
  'ZGM3NWQ2NjUtNTViMy00ODQ2LWE5NmQtNDE3ZGUyYTIxYjhi',
  'NzE2OWYyZGEtZGQ1Ni00YWMwLWJiNWUtNjIyNDlkYzRiNmEy',
  'ZmU2ZDMzNjQtMzg2My00ZGZlLWIwYjItMDc4NTY2MDE1MzY1',
  'NWY1ZDAyMWUtNTJiNi00YjA5LTg4ZWItYzg3OTdhMDYxMTRl',
];

async function replay(name: string, replacements: Record<string, string>): Promise<{ res: Response; text: string }> {
  const req = parseRequestFixture(`${name}.request.http`, emulator.url, replacements);
  const res = await fetch(req.url, {
    method: req.method,
    headers: { ...req.headers, ...AUTH },
    body: req.method === 'GET' ? undefined : req.body,
  });
  return { res, text: await res.text() };
}

function expectShape(name: string, res: Response, text: string): void {
  const want = parseResponseFixture(`${name}.response.http`);
  expect({ name, status: res.status }).toEqual({ name, status: want.status });
  expect(res.headers.get('odata-version')).toBe('4.0');
  for (const header of ['x-ms-file-size', 'x-ms-file-name', 'mimetype', 'access-control-expose-headers'])
    if (want.headers[header] !== undefined) expect(res.headers.get(header)).not.toBeNull();
  if (want.headers['access-control-expose-headers'])
    expect(res.headers.get('access-control-expose-headers')).toBe(want.headers['access-control-expose-headers']);
  const expected = parseJsonOrText(want.body);
  if (typeof expected !== 'object' || expected === null) return; // bytes or no body
  const got = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  const context = (expected as Record<string, string>)['@odata.context']!;
  expect(normalize(got['@odata.context'] as string, emulator.url)).toBe(normalize(context, emulator.url));
}

test('every file fixture has a request and a response', () => {
  for (const name of FILE_FIXTURES) {
    expect(() => parseRequestFixture(`${name}.request.http`, emulator.url)).not.toThrow();
    expect(() => parseResponseFixture(`${name}.response.http`)).not.toThrow();
  }
});

test('upload in blocks, commit, then download by blocks and by $value, as published', async () => {
  const seed = await fetch(`${emulator.webApiUrl}accounts`, {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ accountid: ACCOUNT, name: 'Files' }),
  });
  expect(seed.status).toBe(204);

  const init = await replay('file-initialize-upload', { '<accountid>': ACCOUNT });
  expectShape('file-initialize-upload', init.res, init.text);
  const token = (JSON.parse(init.text) as { FileContinuationToken: string }).FileContinuationToken;

  // Seven blocks with the published ids; the first through the fixture itself.
  const blocks = BLOCK_IDS.map((_, i) => Buffer.from(`block ${i} `.repeat(10)));
  const first = await replay('file-upload-block', {
    '<Base64 encoded string of byte[] data removed for brevity>': blocks[0]!.toString('base64'),
    '<file continuation token value removed for brevity>': token,
  });
  expectShape('file-upload-block', first.res, first.text);
  for (let i = 1; i < BLOCK_IDS.length; i++) {
    const res = await fetch(`${emulator.webApiUrl}UploadBlock`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        BlockId: BLOCK_IDS[i],
        BlockData: blocks[i]!.toString('base64'),
        FileContinuationToken: token,
      }),
    });
    expect(res.status).toBe(204);
  }
  const commit = await replay('file-commit-upload', { '<file continuation token value removed for brevity>': token });
  expectShape('file-commit-upload', commit.res, commit.text);
  const whole = Buffer.concat(blocks);
  expect(JSON.parse(commit.text)).toMatchObject({ FileSizeInBytes: whole.length });

  const download = await replay('file-initialize-download', { '<accountid>': ACCOUNT });
  expectShape('file-initialize-download', download.res, download.text);
  const started = JSON.parse(download.text) as { FileContinuationToken: string; FileName: string };
  expect(started.FileName).toBe('25mb.pdf');

  const block = await replay('file-download-block', {
    '<file continuation token value removed for brevity>': started.FileContinuationToken,
  });
  expectShape('file-download-block', block.res, block.text);
  expect(Buffer.from((JSON.parse(block.text) as { Data: string }).Data, 'base64').equals(whole)).toBe(true);

  const value = await replay('file-value-download', { '<accountid>': ACCOUNT });
  expect(Buffer.from(await new Response(value.text).arrayBuffer()).equals(whole)).toBe(true);
  expectShape('file-value-download', value.res, value.text);
  expect(value.res.headers.get('x-ms-file-name')).toBe('25mb.pdf');
  expect(value.res.headers.get('mimetype')).toBe('application/pdf');
  expect(value.res.headers.get('x-ms-file-size')).toBe(String(whole.length));
});
