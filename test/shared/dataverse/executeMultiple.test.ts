import { decodeBatchRequest, isChangeSet, type BatchRequestPart } from '../../../shared/dataverse/batchCodec';
import { createDataverseClient, type DataverseClient, type OrganizationRequest } from '../../../shared/dataverse';
import {
  batchAnswer,
  CountingTokenSource,
  errorAnswer,
  MemoryTable,
  numberedTaskCreates,
  settingsTableCreates,
  startTestDataverse,
  taskCreates,
  VirtualClock,
  type TestDataverse,
} from './testDataverse';

const tooLong = 'x'.repeat(201);
const lengthError = (row: Record<string, unknown>) =>
  typeof row['subject'] === 'string' && row['subject'].length > 200
    ? errorAnswer(
        400,
        '0x80044331',
        "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.",
        { REQ_ID: 'de4c5227-4a28-4ebd-8ced-3392ece1697b' },
      )
    : undefined;

let server: TestDataverse;
let tasks: MemoryTable;
let maxBatchSize: number | undefined;

function partsOf(index: number): BatchRequestPart[] {
  const request = server.requests.filter((r) => r.path === '$batch')[index]!;
  return decodeBatchRequest(String(request.headers['content-type']), request.body).flatMap((item) =>
    isChangeSet(item) ? item.changeSet : [item],
  );
}

function client(options: Partial<Parameters<typeof createDataverseClient>[0]> = {}): DataverseClient {
  let n = 0;
  return createDataverseClient({
    webApiUrl: server.webApiUrl,
    accessTokenSource: new CountingTokenSource(),
    clock: new VirtualClock(),
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    ...options,
  });
}

beforeEach(async () => {
  tasks = new MemoryTable('tasks', 'activityid', lengthError);
  maxBatchSize = undefined;
  server = await startTestDataverse((request) => {
    if (request.path === '$batch')
      return batchAnswer(request, (part) => tasks.applyPart(part), maxBatchSize === undefined ? {} : { maxBatchSize });
    return errorAnswer(404, '', 'not found');
  });
});
afterEach(() => server.close());

describe('executeMultiple reproduces the ExecuteMultiple settings table (executemultiple-2017.md)', () => {
  test.each([
    { continueOnError: true, returnResponses: true, items: 6, faults: [2, 4], executed: 6 },
    { continueOnError: false, returnResponses: true, items: 3, faults: [2], executed: 3 },
    { continueOnError: true, returnResponses: false, items: 2, faults: [2, 4], executed: 6 },
    { continueOnError: false, returnResponses: false, items: 1, faults: [2], executed: 3 },
  ])(
    'ContinueOnError=$continueOnError ReturnResponses=$returnResponses → $items items',
    async ({ continueOnError, returnResponses, items, faults, executed }) => {
      const result = await client().executeMultiple(settingsTableCreates(), { continueOnError, returnResponses });
      expect(result.isFaulted).toBe(true);
      expect(result.responses).toHaveLength(items);
      expect(result.responses.filter((item) => item.fault).map((item) => item.requestIndex)).toEqual(faults);
      for (const item of result.responses) expect(!!item.fault !== !!item.response).toBe(true);
      const fault = result.responses.find((item) => item.requestIndex === 2)!.fault!;
      expect(fault).toEqual({
        code: '0x80044331',
        message:
          "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.",
        status: 400,
        requestId: 'de4c5227-4a28-4ebd-8ced-3392ece1697b',
      });
      if (returnResponses) expect(result.responses.map((item) => item.requestIndex)).toEqual([...Array(items).keys()]);
      // Dataverse stops at the first fault without continue-on-error: nothing after it was sent or ran.
      const sent = partsOf(0);
      expect(sent).toHaveLength(6);
      expect(tasks.rows.size).toBe(executed - faults.length);
      const batch = server.requests[0]!;
      expect(batch.headers['prefer']).toBe(continueOnError ? 'odata.continue-on-error' : undefined);
    },
  );

  test('successful creates report the client-generated id, sent in the primary id column', async () => {
    const result = await client().executeMultiple(settingsTableCreates().slice(0, 2), {
      continueOnError: false,
      returnResponses: true,
    });
    expect(result).toMatchObject({
      isFaulted: false,
      responses: [
        { requestIndex: 0, response: { status: 204, id: '00000000-0000-4000-8000-000000000001' } },
        { requestIndex: 1, response: { status: 204, id: '00000000-0000-4000-8000-000000000002' } },
      ],
    });
    expect(JSON.parse(partsOf(0)[0]!.body!)).toEqual({
      subject: 'one',
      activityid: '00000000-0000-4000-8000-000000000001',
    });
  });

  test('each request is outside any change set (its own transaction) with CRLF framing', async () => {
    await client().executeMultiple(settingsTableCreates(), { continueOnError: true, returnResponses: false });
    const request = server.requests[0]!;
    const items = decodeBatchRequest(String(request.headers['content-type']), request.body);
    expect(items.some(isChangeSet)).toBe(false);
    expect(request.body).not.toMatch(/[^\r]\n/);
  });
});

describe('request kinds', () => {
  test('create, update (If-Match: *), upsert by id and alternate key, delete, actions and functions map to Web API parts', async () => {
    server.handle = (request) => batchAnswer(request, () => ({ status: 204 }));
    const requests: OrganizationRequest[] = [
      { kind: 'create', entitySetName: 'accounts', attributes: { name: 'A' } },
      {
        kind: 'update',
        entitySetName: 'accounts',
        key: '11111111-1111-1111-1111-111111111111',
        attributes: { name: 'B' },
      },
      {
        kind: 'upsert',
        entitySetName: 'example_records',
        key: { example_key1: 2, example_key2: 2 },
        attributes: { example_name: '2:2' },
      },
      { kind: 'upsert', entitySetName: 'accounts', key: { accountnumber: "O'Neil @ Co 1" }, attributes: { name: 'C' } },
      { kind: 'delete', entitySetName: 'accounts', key: '22222222-2222-2222-2222-222222222222' },
      { kind: 'action', name: 'WinOpportunity', parameters: { Status: 3 } },
      {
        kind: 'action',
        name: 'Merge',
        boundTo: { entitySetName: 'accounts', key: '33333333-3333-3333-3333-333333333333' },
        parameters: {},
      },
      { kind: 'function', name: 'WhoAmI' },
      { kind: 'function', name: 'RetrieveTotalRecordCount', parameters: { EntityNames: 'account' } },
    ];
    const result = await client().executeMultiple(requests, { continueOnError: true, returnResponses: true });
    expect(result.isFaulted).toBe(false);
    const parts = partsOf(0);
    expect(parts.map((part) => `${part.method} ${part.url}`)).toEqual([
      'POST /api/data/v9.2/accounts',
      'PATCH /api/data/v9.2/accounts(11111111-1111-1111-1111-111111111111)',
      'PATCH /api/data/v9.2/example_records(example_key1=2,example_key2=2)',
      "PATCH /api/data/v9.2/accounts(accountnumber='O''Neil%20%40%20Co%201')",
      'DELETE /api/data/v9.2/accounts(22222222-2222-2222-2222-222222222222)',
      'POST /api/data/v9.2/WinOpportunity',
      'POST /api/data/v9.2/accounts(33333333-3333-3333-3333-333333333333)/Microsoft.Dynamics.CRM.Merge',
      'GET /api/data/v9.2/WhoAmI()',
      "GET /api/data/v9.2/RetrieveTotalRecordCount(EntityNames=@EntityNames)?@EntityNames='account'",
    ]);
    expect(parts[1]!.headers['if-match']).toBe('*');
    expect(parts[2]!.headers['if-match']).toBeUndefined();
    expect(parts[0]!.headers['content-type']).toBe('application/json; type=entry');
    expect(JSON.parse(parts[5]!.body!)).toEqual({ Status: 3 });
  });

  test('a nested executeMultiple is a fault for that item only; with ContinueOnError=false it stops there', async () => {
    const nested: OrganizationRequest = {
      kind: 'executeMultiple',
      requests: settingsTableCreates(),
      settings: { continueOnError: true, returnResponses: true },
    };
    const [first, second] = settingsTableCreates();
    const goOn = await client().executeMultiple([first!, nested, second!], {
      continueOnError: true,
      returnResponses: true,
    });
    expect(goOn.responses.map((item) => [item.requestIndex, item.fault?.code ?? item.response?.status])).toEqual([
      [0, 204],
      [1, 'NestedExecuteMultiple'],
      [2, 204],
    ]);
    expect(tasks.rows.size).toBe(2); // the nested requests never ran
    tasks.rows.clear();
    const stop = await client().executeMultiple([first!, nested, second!], {
      continueOnError: false,
      returnResponses: true,
    });
    expect(stop.responses.map((item) => item.requestIndex)).toEqual([0, 1]);
    expect(stop.isFaulted).toBe(true);
  });

  test('per-call options become headers on the batch and on every request in it', async () => {
    await client().executeMultiple(
      settingsTableCreates().slice(0, 2),
      { continueOnError: true, returnResponses: false },
      {
        bypassBusinessLogic: 'CustomSync,CustomAsync',
        bypassCustomPluginExecution: true,
        suppressDuplicateDetection: false,
        callerObjectId: 'e39c5d16-675b-48d1-8e67-667427e9c084',
      },
    );
    const batch = server.requests[0]!;
    for (const headers of [batch.headers, ...partsOf(0).map((part) => part.headers)]) {
      expect(headers['mscrm.bypassbusinesslogicexecution']).toBe('CustomSync,CustomAsync');
      expect(headers['mscrm.bypasscustompluginexecution']).toBe('true');
      expect(headers['mscrm.suppressduplicatedetection']).toBe('false');
      expect(headers['callerobjectid']).toBe('e39c5d16-675b-48d1-8e67-667427e9c084');
    }
  });
});

describe('batch size', () => {
  test('splits into batches of maxBatchSize and keeps request indexes across batches', async () => {
    const requests = taskCreates([0, 1, 2, 3, 4, 5, 6].map((i) => (i === 5 ? tooLong : `t${i}`)));
    const result = await client({ maxBatchSize: 3 }).executeMultiple(requests, {
      continueOnError: true,
      returnResponses: false,
    });
    expect(server.requests.map((r) => partsOf(server.requests.indexOf(r)).length)).toEqual([3, 3, 1]);
    expect(result.responses.map((item) => item.requestIndex)).toEqual([5]);
  });

  test('a too-large rejection is re-chunked to the limit Dataverse names, nothing is sent twice, the limit is remembered', async () => {
    maxBatchSize = 4;
    const c = client();
    const requests = numberedTaskCreates(10);
    const result = await c.executeMultiple(requests, { continueOnError: false, returnResponses: true });
    expect(result.isFaulted).toBe(false);
    expect(result.responses).toHaveLength(10);
    expect(server.requests.map((_, i) => partsOf(i).length)).toEqual([10, 4, 4, 2]);
    expect(tasks.rows.size).toBe(10);
    expect(c.metrics().maxBatchSize).toBe(4);
    expect(c.metrics().batchSizes).toEqual({ 10: 1, 4: 2, 2: 1 });
    await c.executeMultiple(
      requests.slice(0, 5).map((r) => ({ ...r, attributes: { subject: 'again' } })),
      { continueOnError: true, returnResponses: false },
    );
    expect(partsOf(4)).toHaveLength(4);
  });

  test('without a named limit the batch size halves', async () => {
    server.handle = (request) => {
      const parts = decodeBatchRequest(String(request.headers['content-type']), request.body);
      if (parts.length > 3) return errorAnswer(400, '', 'The current batch message contains too many parts.');
      return batchAnswer(request, (part) => tasks.applyPart(part));
    };
    const requests = Array.from({ length: 8 }, (_, i): OrganizationRequest => ({
      kind: 'create',
      entitySetName: 'tasks',
      attributes: { subject: `t${i}` },
    }));
    const result = await client().executeMultiple(requests, { continueOnError: true, returnResponses: true });
    expect(result.responses.every((item) => item.response?.status === 204)).toBe(true);
    expect(server.requests.map((_, i) => partsOf(i).length)).toEqual([8, 4, 2, 2, 2, 2]);
  });
});

describe('retried creates (client-generated ids)', () => {
  test('a batch answered 502 after it ran is re-sent; duplicate key on its creates counts as done, and it resumes after them', async () => {
    const clock = new VirtualClock();
    let first = true;
    server.handle = (request) => {
      const answer = batchAnswer(request, (part) => tasks.applyPart(part));
      if (first) {
        first = false;
        return { status: 502, body: 'Bad Gateway' }; // the batch ran, the answer was lost
      }
      return answer;
    };
    const requests = settingsTableCreates()
      .slice(0, 3)
      .map((r) => ({ ...r, attributes: { subject: 'ok' } }));
    const result = await client({ clock }).executeMultiple(requests, { continueOnError: false, returnResponses: true });
    expect(result.isFaulted).toBe(false);
    expect(
      result.responses.map((item) => [item.requestIndex, item.response?.id, item.response?.recoveredAfterRetry]),
    ).toEqual([
      [0, '00000000-0000-4000-8000-000000000001', true],
      [1, '00000000-0000-4000-8000-000000000002', true],
      [2, '00000000-0000-4000-8000-000000000003', true],
    ]);
    expect(tasks.rows.size).toBe(3);
    // 1st: ran but 502; 2nd: stopped at the first duplicate; 3rd and 4th: resumed one by one.
    expect(server.requests.map((_, i) => partsOf(i).length)).toEqual([3, 3, 2, 1]);
  });

  test('creates without a client id are never re-sent after a 5xx: each gets a fault saying the outcome is unknown', async () => {
    server.handle = () => ({ status: 503, body: '' });
    const requests: OrganizationRequest[] = [
      { kind: 'create', entitySetName: 'tasks', attributes: { subject: 'a' } },
      { kind: 'create', entitySetName: 'tasks', attributes: { subject: 'b' } },
    ];
    const result = await client().executeMultiple(requests, { continueOnError: true, returnResponses: true });
    expect(server.requests).toHaveLength(1);
    expect(result.responses.map((item) => item.fault?.status)).toEqual([503, 503]);
    expect(result.responses[0]!.fault!.message).toMatch(/outcome of these requests is unknown/);
  });
});
