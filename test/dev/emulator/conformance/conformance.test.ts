/**
 * Conformance: replays every request fixture against the emulator (records seeded first) and compares
 * status, the headers that matter and the body shape with the response fixture.
 */
import { readdirSync } from 'node:fs';
import { startEmulator, type EmulatorHandle } from '../../../../dev/emulator/index';
import { boundaryOf } from '../../../../dev/emulator/batchCodec';
import {
  batchParts,
  FIXTURES,
  HEADERS_THAT_MATTER,
  normalize,
  normalizeJson,
  parseJsonOrText,
  parseRequestFixture,
  parseResponseFixture,
  type ComparablePart,
} from './httpFixture';
import { FILE_FIXTURES } from './fileFixtures';

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const AUTH = { Authorization: 'Bearer conformance' };

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(`${emulator.webApiUrl}${path}`, {
    method,
    headers: { ...AUTH, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
}

async function seed(set: string, rows: object[]): Promise<void> {
  for (const row of rows) {
    const res = await call('POST', set, row);
    if (res.status !== 204) throw new Error(`seeding ${set} failed with ${res.status}`);
  }
}

const ACCOUNT_1 = { accountid: '00000000-0000-0000-0000-000000000001', name: 'Fixture account' };

/** The records of Microsoft's associate example: account ...0002 and opportunity ...0001. */
async function seedOpportunity(): Promise<void> {
  await seed('accounts', [{ accountid: '00000000-0000-0000-0000-000000000002', name: 'Fixture account' }]);
  await seed('opportunities', [{ opportunityid: '00000000-0000-0000-0000-000000000001', name: 'Fixture opportunity' }]);
}

interface Step {
  request: string;
  /** The response fixture; for requests published without one, the fixture with the documented shape of the same exchange. */
  response: string;
}

interface Case {
  name: string;
  seed?: () => Promise<void>;
  steps: Step[];
}

const step = (base: string, response = `${base}.response.http`): Step => ({
  request: `${base}.request.http`,
  response,
});

const CASES: Case[] = [
  { name: 'batch without change set', seed: () => seed('accounts', [ACCOUNT_1]), steps: [step('batch-no-changeset')] },
  { name: 'batch with a change set', seed: () => seed('accounts', [ACCOUNT_1]), steps: [step('batch-changeset')] },
  { name: 'change set with Content-ID references in bodies', steps: [step('batch-changeset-contentid-refs')] },
  {
    name: 'batch stops at the first error',
    seed: () => seed('accounts', [ACCOUNT_1]),
    steps: [step('batch-stop-on-error')],
  },
  {
    name: 'batch continues on error',
    seed: () => seed('accounts', [ACCOUNT_1]),
    steps: [step('batch-continue-on-error')],
  },
  { name: 'create', steps: [step('create-basic')] },
  {
    name: 'create bypassing business logic (documented create shape)',
    steps: [{ request: 'bypass-business-logic.request.http', response: 'create-basic.response.http' }],
  },
  {
    name: 'create impersonating by CallerObjectId',
    seed: () =>
      seed('systemusers', [
        { fullname: 'Impersonated', azureactivedirectoryobjectid: 'e39c5d16-675b-48d1-8e67-667427e9c084' },
      ]),
    steps: [step('impersonate-callerobjectid')],
  },
  {
    name: 'upsert by alternate key: create then update',
    steps: [step('upsert-altkey-create'), step('upsert-altkey-update')],
  },
  {
    name: 'upsert by alternate key with return=representation: create then update',
    steps: [step('upsert-altkey-repr-create'), step('upsert-altkey-repr-update')],
  },
  { name: 'CreateMultiple', steps: [step('createmultiple')] },
  {
    name: 'UpdateMultiple',
    seed: () =>
      seed(
        'sample_examples',
        [
          '8f4c3f92-312b-ee11-bdf4-000d3a993550',
          '904c3f92-312b-ee11-bdf4-000d3a993550',
          '914c3f92-312b-ee11-bdf4-000d3a993550',
        ].map((id, i) => ({ sample_exampleid: id, sample_name: `sample record 000000${i + 1}` })),
      ),
    steps: [step('updatemultiple')],
  },
  { name: 'UpsertMultiple', steps: [step('upsertmultiple')] },
  {
    name: 'UpsertMultiple with the key in the body (create path)',
    steps: [
      {
        request: 'upsertmultiple-key-in-body-create.request.json',
        response: 'upsertmultiple-key-in-body-create.response.txt',
      },
    ],
  },
  {
    name: 'DeleteMultiple on an elastic table',
    seed: () =>
      seed(
        'contoso_sensordatas',
        [
          '6114ca58-0928-ee11-9965-6045bd5cd155',
          '6214ca58-0928-ee11-9965-6045bd5cd155',
          '6314ca58-0928-ee11-9965-6045bd5cd155',
        ].map((id) => ({ contoso_sensordataid: id, partitionid: 'Device-ABC-1234', contoso_name: 'reading' })),
      ),
    steps: [step('deletemultiple-elastic')],
  },
  { name: 'WhoAmI', steps: [step('whoami')] },
  {
    name: 'associate through a collection-valued navigation property ($ref)',
    seed: seedOpportunity,
    steps: [step('associate-collection-ref')],
  },
  {
    name: 'disassociate by the related key in the path',
    seed: seedOpportunity,
    steps: [
      step('associate-collection-ref'),
      step('disassociate-collection-ref-key', 'disassociate-collection-ref.response.http'),
    ],
  },
  {
    name: 'disassociate by $id',
    seed: seedOpportunity,
    steps: [
      step('associate-collection-ref'),
      step('disassociate-collection-ref-id', 'disassociate-collection-ref.response.http'),
    ],
  },
  {
    name: 'update with If-Match: * (the second pass of a load): the record exists',
    seed: () => seed('accounts', [ACCOUNT_1]),
    steps: [{ request: 'update-prevent-create.request.http', response: 'update-basic.response.http' }],
  },
  { name: 'create with a multi-select choice column', steps: [step('multiselect-create')] },
  { name: 'file column MaxSizeInKB', steps: [step('file-maxsize')] },
];

/** Request fixtures the emulator does not replay, and why. */
const EXCLUDED: Record<string, string> = {
  'error-plugin-annotations.request.http':
    'the response is an error thrown by a customer plug-in; the emulator runs no plug-ins',
  'background-operation.request.http':
    'a custom API run as a background operation (preview); the emulator has no custom APIs',
  'multitable-lookup-create.request.http':
    "published without a response, on the article's own tables (new_checkout, new_book); the load path's body is checked against it by test/shared/ingestion/columnKindFixtures.test.ts, the emulator's per-target binds by test/dev/emulator/columnKinds/polymorphic.test.ts",
  'entitydefinitions-select-displayname.request.http':
    "the published response answers one table by key with a collection (`value` array) and the real display label 'Account' (the emulator's labels are logical names); the client's parsing of it is checked by test/shared/plans/tableCatalogSource.test.ts, the emulator's catalog answer there too",
  ...Object.fromEntries(
    FILE_FIXTURES.map((f) => [
      `${f}.request.http`,
      'holds placeholders (<accountid>, tokens, data); replayed with live values by fileColumns.test.ts',
    ]),
  ),
};

test('every request fixture is replayed or excluded with a reason', () => {
  const requests = readdirSync(FIXTURES).filter((f) => /\.request\.(http|json)$/.test(f));
  const covered = new Set([...CASES.flatMap((c) => c.steps.map((s) => s.request)), ...Object.keys(EXCLUDED)]);
  expect(requests.filter((r) => !covered.has(r))).toEqual([]);
  expect([...covered].filter((r) => !requests.includes(r))).toEqual([]);
});

function expectHeadersMatch(actual: Record<string, string>, expected: Record<string, string>, where: string): void {
  const org = emulator.url;
  for (const name of HEADERS_THAT_MATTER) {
    const want = expected[name];
    if (want === undefined) continue;
    const got = actual[name];
    expect({ where, header: name, value: got === undefined ? undefined : normalize(got, org) }).toEqual({
      where,
      header: name,
      value: normalize(want, org),
    });
  }
}

function expectBodyMatches(actual: string, expected: string, where: string): void {
  const org = emulator.url;
  expect({ where, body: normalizeJson(parseJsonOrText(actual), org) }).toEqual({
    where,
    body: normalizeJson(parseJsonOrText(expected), org),
  });
}

function expectPartsMatch(actual: ComparablePart[], expected: ComparablePart[]): void {
  expect(actual.map((p) => p.status)).toEqual(expected.map((p) => p.status));
  expected.forEach((want, i) => {
    const got = actual[i]!;
    expect(got.contentId).toBe(want.contentId);
    expectHeadersMatch(got.headers, want.headers, `part ${i + 1}`);
    expectBodyMatches(got.body, want.body, `part ${i + 1}`);
  });
}

describe.each(CASES)('conformance: $name', (c) => {
  test('matches the fixtures', async () => {
    await c.seed?.();
    for (const s of c.steps) {
      const req = parseRequestFixture(s.request, emulator.url);
      const want = parseResponseFixture(s.response);
      const res = await fetch(req.url, {
        method: req.method,
        headers: { ...req.headers, ...AUTH },
        body: req.method === 'GET' ? undefined : req.body,
      });
      const text = await res.text();
      const headers = Object.fromEntries(res.headers.entries());
      expect({ step: s.request, status: res.status, body: res.status === want.status ? '' : text }).toEqual({
        step: s.request,
        status: want.status,
        body: '',
      });
      expect(headers['odata-version']).toBe('4.0');
      const responseBoundary = boundaryOf(headers['content-type']);
      if (responseBoundary) {
        // Framing: the body starts with the delimiter named in Content-Type, CRLF throughout.
        expect(text.startsWith(`--${responseBoundary}\r\n`)).toBe(true);
        expect(/[^\r]\n/.test(text)).toBe(false);
        const fixtureBoundary = /^--(batchresponse_[0-9a-f-]+)/.exec(want.body)![1]!;
        expectPartsMatch(batchParts(text, responseBoundary), batchParts(`${want.body}\n`, fixtureBoundary));
        continue;
      }
      expectHeadersMatch(headers, want.headers, s.request);
      expectBodyMatches(text, want.body, s.request);
    }
  });
});

test('conformance: update with If-Match: * and no record → 404 as documented, and nothing created', async () => {
  const req = parseRequestFixture('update-prevent-create.request.http', emulator.url);
  const want = parseResponseFixture('update-prevent-create.response.http');
  const res = await fetch(req.url, { method: req.method, headers: { ...req.headers, ...AUTH }, body: req.body });
  expect(res.status).toBe(want.status);
  expectHeadersMatch(Object.fromEntries(res.headers.entries()), want.headers, 'update-prevent-create');
  // The published example's `code` is empty; Dataverse's ObjectDoesNotExist is 0x80040217 (what the emulator
  // sends, and what other sources show: see dataverse-wire.md, "Where sources disagree"). The message is the doc's.
  const body = (await res.json()) as { error: { code: string; message: string } };
  const published = JSON.parse(want.body) as { error: { message: string } };
  expect(body.error).toEqual({ code: '0x80040217', message: published.error.message });
  expect((await call('GET', 'accounts(00000000-0000-0000-0000-000000000001)')).status).toBe(404);
});

describe('conformance: responses published without their request', () => {
  test('create with an existing primary key → 412 and the duplicate key body', async () => {
    await seed('accounts', [ACCOUNT_1]);
    const res = await fetch(`${emulator.webApiUrl}accounts`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(ACCOUNT_1),
    });
    expect(res.status).toBe(412);
    expectBodyMatches(
      await res.text(),
      parseResponseFixture('create-duplicate-key.response-body.json').body,
      'duplicate',
    );
  });
});
