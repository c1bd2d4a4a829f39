import type { EmulatorHandle } from '../../../dev/emulator/index';
import { auth, batchBody, createPart, errorOf, startWidgetEmulator, type WidgetRoute } from './testRoute';

let emulator: EmulatorHandle;
let widgets: WidgetRoute;

beforeAll(async () => {
  ({ emulator, widgets } = await startWidgetEmulator());
});
afterAll(() => emulator.close());
beforeEach(() => {
  widgets.widgets.clear();
  widgets.seen.length = 0;
  emulator.configure({ maxBatchSize: 1000 });
});

async function postBatch(body: string, headers: Record<string, string> = {}, boundary = 'batch_t') {
  const res = await fetch(`${emulator.webApiUrl}$batch`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': `multipart/mixed; boundary="${boundary}"`, ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Status lines of the parts, in order. */
const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));

describe('$batch', () => {
  test('outer framing: Content-Type names the response boundary and the body starts with its delimiter', async () => {
    const { status, headers, text } = await postBatch(
      batchBody('batch_t', [createPart('widgets', { name: 'a' }), createPart('widgets', { name: 'b' })]),
    );
    expect(status).toBe(200);
    const boundary = /^multipart\/mixed; boundary=(batchresponse_[0-9a-f-]{36})$/.exec(
      headers.get('content-type')!,
    )![1]!;
    expect(text.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(headers.get('odata-version')).toBe('4.0');
    expect(statuses(text)).toEqual([204, 204]);
    expect(text).toMatch(
      /HTTP\/1\.1 204 No Content\r\nOData-Version: 4\.0\r\nLocation: (\S+)\r\nOData-EntityId: \1\r\n\r\n\r\n/,
    );
    expect(widgets.widgets.size).toBe(2);
    expect(emulator.stats()).toMatchObject({ batches: 1, operations: 2 });
  });

  test('without continue-on-error: stops at the first failure, outer 400, earlier successes echoed, later parts not run', async () => {
    const body = batchBody('batch_t', [
      createPart('widgets', { name: 'ok' }),
      createPart('widgets', { name: 'far too long a name' }),
      createPart('widgets', { name: 'never' }),
    ]);
    const { status, text } = await postBatch(body);
    expect(status).toBe(400);
    expect(statuses(text)).toEqual([204, 400]);
    expect(text).toMatch(
      /HTTP\/1\.1 400 Bad Request\r\nREQ_ID: [0-9a-f-]{36}\r\nContent-Type: application\/json; odata\.metadata=minimal\r\nOData-Version: 4\.0\r\n\r\n\{"error":\{"code":"0x80044331","message":"A validation error occurred\. {2}The length/,
    );
    expect([...widgets.widgets.values()].map((w) => w['name'])).toEqual(['ok']);
  });

  test('with Prefer: odata.continue-on-error: outer 200 and every part has its own status', async () => {
    const body = batchBody('batch_t', [
      createPart('widgets', { name: 'far too long a name' }),
      createPart('widgets', { name: 'two' }),
      createPart('widgets', { name: 'three' }),
    ]);
    const { status, text } = await postBatch(body, { Prefer: 'odata.continue-on-error' });
    expect(status).toBe(200);
    expect(statuses(text)).toEqual([400, 204, 204]);
    expect(widgets.widgets.size).toBe(2);
  });

  test('change sets echo Content-ID; $n resolves in URLs and in @odata.bind values', async () => {
    const body = batchBody('batch_t', [
      {
        changeset: 'changeset_x',
        operations: [
          createPart('widgets', { name: 'first' }),
          ['PATCH $1 HTTP/1.1', 'Content-Type: application/json', '', '{"color":"red"}'].join('\r\n'),
          createPart('widgets', { name: 'second', 'parent@odata.bind': '$1' }),
        ],
      },
    ]);
    const { status, text } = await postBatch(body);
    expect(status).toBe(200);
    expect(text).toMatch(/^Content-Type: multipart\/mixed; boundary=changesetresponse_[0-9a-f-]{36}\r\n/m);
    expect([...text.matchAll(/^Content-ID: (\d+)\r\n/gm)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(statuses(text)).toEqual([204, 204, 204]);
    const [first, second] = [...widgets.widgets.values()];
    expect(first).toMatchObject({ name: 'first', color: 'red' });
    expect(second!['parent@odata.bind']).toBe(`/widgets(${String(first!['widgetid'])})`);
    // The PATCH $1 part carries the referenced record's Location/OData-EntityId.
    expect(text).toContain(`Location: ${emulator.webApiUrl}widgets(${String(first!['widgetid'])})`);
  });

  test('a forward or unknown Content-ID reference → 400 with Dataverse wording', async () => {
    const body = batchBody('batch_t', [
      {
        changeset: 'changeset_y',
        operations: [
          createPart('widgets', { name: 'a', 'parent@odata.bind': '$2' }),
          createPart('widgets', { name: 'b' }),
        ],
      },
    ]);
    const { status, text } = await postBatch(body);
    expect(status).toBe(400);
    expect(text).toContain(
      `{"error":{"code":"0x0","message":"Content-ID Reference: '$2' does not exist in the batch context."}}`,
    );
    const urlRef = batchBody('batch_t', [
      { changeset: 'changeset_z', operations: ['PATCH $7 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}'] },
    ]);
    const second = await postBatch(urlRef);
    expect(second.text).toContain("Content-ID Reference: '$7' does not exist in the batch context.");
  });

  test('outer MSCRM.* and CallerObjectId headers reach every part; a part header wins over the outer one', async () => {
    const body = batchBody('batch_t', [
      createPart('widgets', { name: 'a' }),
      createPart('widgets', { name: 'b' }, ['CallerObjectId: part-caller', 'Prefer: return=representation']),
    ]);
    await postBatch(body, {
      'MSCRM.BypassBusinessLogicExecution': 'CustomSync,CustomAsync',
      CallerObjectId: 'outer-caller',
    });
    const [a, b] = widgets.seen.slice(-2);
    expect(a!.headers['mscrm.bypassbusinesslogicexecution']).toBe('CustomSync,CustomAsync');
    expect(a!.headers['callerobjectid']).toBe('outer-caller');
    expect(b!.headers['callerobjectid']).toBe('part-caller');
    expect(b!.headers['prefer']).toBe('return=representation');
    expect(a!.headers['prefer']).toBeUndefined();
  });

  test('more than 1000 operations are refused before anything runs', async () => {
    const parts = Array.from({ length: 1001 }, () => createPart('widgets', { name: 'x' }));
    const { status, text } = await postBatch(batchBody('batch_t', parts));
    expect(status).toBe(400);
    expect(JSON.parse(text)).toEqual({
      error: {
        code: '0x0',
        message:
          "The current batch message contains too many parts. A maximum number of '1000' query operations and change sets are allowed in a batch message.",
      },
    });
    expect(widgets.widgets.size).toBe(0);
  });

  test('a configured lower maxBatchSize is enforced and reported (operations inside change sets count)', async () => {
    emulator.configure({ maxBatchSize: 3 });
    const over = batchBody('batch_t', [
      createPart('widgets', { name: 'x' }),
      { changeset: 'changeset_c', operations: [1, 2, 3].map(() => createPart('widgets', { name: 'y' })) },
    ]);
    const { status, text } = await postBatch(over);
    expect(status).toBe(400);
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toContain(
      "A maximum number of '3' query operations",
    );
    expect(widgets.widgets.size).toBe(0);
    const fits = await postBatch(
      batchBody(
        'batch_t',
        [1, 2, 3].map(() => createPart('widgets', { name: 'z' })),
      ),
    );
    expect(fits.status).toBe(200);
  });

  test('malformed batches answer 400 in the error shape', async () => {
    const noBoundary = await fetch(`${emulator.webApiUrl}$batch`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(noBoundary.status).toBe(400);
    expect((await errorOf(noBoundary)).code).toBe('0x0');
    const unterminated = await postBatch(
      '--batch_t\r\nContent-Type: application/http\r\n\r\nPOST /api/data/v9.2/widgets HTTP/1.1\r\n\r\n{}',
    );
    expect(unterminated.status).toBe(400);
  });

  test('parts with absolute URLs (as DynamicsWebApi writes them) and GET parts', async () => {
    const created = await postBatch(batchBody('batch_t', [createPart('widgets', { name: 'abs' })]));
    const id = /widgets\(([^)]+)\)/.exec(created.text)![1];
    const { status, text } = await postBatch(
      batchBody('batch_t', [`GET ${emulator.webApiUrl}widgets(${id}) HTTP/1.1\r\nAccept: application/json\r\n`]),
    );
    expect(status).toBe(200);
    expect(text).toMatch(
      /HTTP\/1\.1 200 OK\r\nContent-Type: application\/json; odata\.metadata=minimal; odata\.streaming=true\r\nOData-Version: 4\.0\r\n\r\n\{"@odata\.context"[^\r\n]*"name":"abs"[^\r\n]*\}\r\n--batchresponse_/,
    );
  });
});
