import fc from 'fast-check';
import {
  decodeBatchRequest,
  decodeBatchResponse,
  encodeBatchRequest,
  encodeBatchResponse,
  flattenBatchResponse,
  isChangeSet,
  splitMultipart,
  type BatchRequestItem,
  type BatchRequestPart,
  type BatchResponseItem,
} from '../../../shared/dataverse/batchCodec';
import { parseHttpHead, parseHttpResponseMessage } from '../../../shared/dataverse/httpMessage';
import { dataverseFixture } from './testDataverse';

/** Splits a fixture request file (outer request line + headers + body). */
function fixtureRequest(name: string) {
  const head = parseHttpHead(dataverseFixture(name));
  return { contentType: head.headers['content-type'], body: head.body };
}

describe('decodeBatchResponse on Microsoft-documented responses (LF line ends, no Content-Type header)', () => {
  test('batch-no-changeset: three creates then a GET, boundary read from the first body line', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-no-changeset.response.http'));
    expect(message.status).toBe(200);
    expect(message.headers['content-type']).toBeUndefined();
    const parts = decodeBatchResponse(undefined, message.body) as never[];
    expect(parts).toHaveLength(4);
    const flat = flattenBatchResponse(parts);
    expect(flat.map((part) => part.status)).toEqual([204, 204, 204, 200]);
    expect(flat[0]!.headers['odata-entityid']).toBe(
      '[Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)',
    );
    expect(flat[0]!.body).toBe('');
    const query = JSON.parse(flat[3]!.body) as { value: { subject: string }[] };
    expect(query.value.map((row) => row.subject)).toEqual(['Task 1 in batch', 'Task 2 in batch', 'Task 3 in batch']);
  });

  test('batch-changeset: the change set comes back nested with Content-IDs, then the GET', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-changeset.response.http'));
    const items = decodeBatchResponse(message.headers['content-type'], message.body);
    expect(items).toHaveLength(2);
    const [changeSet, get] = items;
    expect(isChangeSet(changeSet!)).toBe(true);
    if (!changeSet || !get || !isChangeSet(changeSet) || isChangeSet(get)) throw new Error('shape');
    expect(changeSet.changeSet.map((part) => [part.contentId, part.status])).toEqual([
      ['1', 204],
      ['2', 204],
      ['3', 204],
    ]);
    expect(changeSet.changeSet[2]!.headers['location']).toContain('tasks(e93ffc82-e292-ed11-aad1-000d3a9933c9)');
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/json; odata.metadata=minimal; odata.streaming=true');
  });

  test('batch-changeset-contentid-refs: three created records with their ids', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-changeset-contentid-refs.response.http'));
    const flat = flattenBatchResponse(decodeBatchResponse(undefined, message.body));
    expect(flat.map((part) => part.headers['odata-entityid']?.replace(/^.*\//, ''))).toEqual([
      'leads(425195a4-7a75-e911-a97a-000d3a34a1bd)',
      'contacts(495195a4-7a75-e911-a97a-000d3a34a1bd)',
      'accounts(4f5195a4-7a75-e911-a97a-000d3a34a1bd)',
    ]);
  });

  test('batch-stop-on-error: outer "400 BadRequest", one inner "400 Bad Request" part with REQ_ID and the error', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-stop-on-error.response.http'));
    expect(message.status).toBe(400);
    const flat = flattenBatchResponse(decodeBatchResponse(undefined, message.body));
    expect(flat).toHaveLength(1);
    expect(flat[0]!.status).toBe(400);
    expect(flat[0]!.headers['req_id']).toBe('5ecd1cb3-1730-4ffc-909c-d44c22270026');
    expect(JSON.parse(flat[0]!.body)).toEqual({
      error: {
        code: '0x80044331',
        message:
          "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.",
      },
    });
  });

  test('batch-continue-on-error: every part with its own status', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-continue-on-error.response.http'));
    const flat = flattenBatchResponse(decodeBatchResponse(undefined, message.body));
    expect(flat.map((part) => part.status)).toEqual([400, 204, 204]);
  });

  test('the same response with CRLF line ends and a Content-Type header decodes identically', () => {
    const message = parseHttpResponseMessage(dataverseFixture('batch-changeset.response.http'));
    const crlf = message.body.replace(/\n/g, '\r\n');
    const boundary = /--(batchresponse_[^\r\n]+)/.exec(crlf)![1]!;
    const lf = decodeBatchResponse(undefined, message.body);
    const decoded = decodeBatchResponse(`multipart/mixed; boundary=${boundary}`, crlf);
    const normalise = (items: BatchResponseItem[]) => JSON.stringify(items).replace(/\\r/g, '');
    expect(normalise(decoded)).toBe(normalise(lf));
  });
});

describe('decodeBatchRequest on Microsoft-documented requests', () => {
  test('batch-changeset request: quoted boundary, change set with Content-IDs, GET part', () => {
    const { contentType, body } = fixtureRequest('batch-changeset.request.http');
    const items = decodeBatchRequest(contentType, body);
    expect(items).toHaveLength(2);
    const changeSet = items[0]!;
    if (!isChangeSet(changeSet)) throw new Error('expected a change set');
    expect(changeSet.changeSet.map((part) => [part.contentId, part.method, part.url])).toEqual([
      ['1', 'POST', '/api/data/v9.2/tasks'],
      ['2', 'POST', '/api/data/v9.2/tasks'],
      ['3', 'POST', '/api/data/v9.2/tasks'],
    ]);
    expect(JSON.parse(changeSet.changeSet[0]!.body!)).toEqual({
      subject: 'Task 1 in batch',
      'regardingobjectid_account_task@odata.bind': 'accounts(00000000-0000-0000-0000-000000000001)',
    });
    const get = items[1] as BatchRequestPart;
    expect(get.method).toBe('GET');
    expect(get.url).toBe('/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks?$select=subject');
  });

  test('unquoted boundary without a space after the semicolon (contentid-refs request)', () => {
    const { contentType, body } = fixtureRequest('batch-changeset-contentid-refs.request.http');
    expect(contentType).toBe('multipart/mixed;boundary=batch_AAA123');
    const [changeSet] = decodeBatchRequest(contentType, body);
    if (!changeSet || !isChangeSet(changeSet)) throw new Error('expected a change set');
    expect((JSON.parse(changeSet.changeSet[2]!.body!) as Record<string, unknown>)['primarycontactid@odata.bind']).toBe(
      '$2',
    );
  });

  test('a body that is not multipart is rejected with a SyntaxError, not a crash elsewhere', () => {
    expect(() => decodeBatchResponse(undefined, '{"error":{"code":"","message":"x"}}')).toThrow(SyntaxError);
    expect(() => splitMultipart('--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n', 'b')).toThrow(
      /not closed/,
    );
  });
});

describe('encoding', () => {
  test('uses CRLF framing, no bare LF, and the boundary of the Content-Type', () => {
    const encoded = encodeBatchRequest(
      [
        {
          method: 'POST',
          url: '/api/data/v9.2/tasks',
          headers: { 'Content-Type': 'application/json' },
          body: '{"subject":"a"}',
        },
      ],
      { boundary: 'batch_x' },
    );
    expect(encoded.contentType).toBe('multipart/mixed; boundary=batch_x');
    expect(encoded.body).not.toMatch(/[^\r]\n/);
    expect(
      encoded.body.startsWith(
        '--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST /api/data/v9.2/tasks HTTP/1.1\r\n',
      ),
    ).toBe(true);
    expect(encoded.body.endsWith('--batch_x--\r\n')).toBe(true);
  });
});

// ---------------------------------------------------------------- properties

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const headers = fc.dictionary(
  token.map((name) => `X-${name}`),
  headerValue,
  { maxKeys: 3 },
);
// Bodies: JSON documents (possibly pretty-printed, so with line breaks) or free text without delimiter lines.
const jsonBody = fc
  .jsonValue()
  .map((value) => JSON.stringify(value, null, 2))
  .map((text) => text.replace(/\n/g, '\r\n'));
const textBody = fc
  .string({ maxLength: 200 })
  .filter((text) => !text.includes('--') && !/^[\r\n]/.test(text) && !/\r$/.test(text));
const body = fc.option(
  fc.oneof(
    jsonBody,
    textBody.filter((text) => text !== ''),
  ),
  { nil: undefined },
);
const path = fc.stringMatching(/^[a-z_]{1,12}(\([0-9a-f-]{1,36}\))?$/).map((segment) => `/api/data/v9.2/${segment}`);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE');

const requestPart = (withContentId: boolean) =>
  fc
    .record({
      method,
      url: path,
      headers,
      body,
      contentId: withContentId ? fc.integer({ min: 1, max: 9999 }).map(String) : fc.constant(undefined),
    })
    .map((part) => {
      const clean: BatchRequestPart = { method: part.method, url: part.url, headers: part.headers };
      if (part.body !== undefined) clean.body = part.body;
      if (part.contentId !== undefined) clean.contentId = part.contentId;
      return clean;
    });

const requestItems = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: requestPart(false) },
    {
      weight: 1,
      arbitrary: fc.array(requestPart(true), { minLength: 1, maxLength: 4 }).map((changeSet) => ({ changeSet })),
    },
  ),
  { minLength: 1, maxLength: 12 },
);

function lowerCased(items: BatchRequestItem[]): BatchRequestItem[] {
  const lower = (part: BatchRequestPart): BatchRequestPart => ({
    ...part,
    headers: Object.fromEntries(Object.entries(part.headers).map(([name, value]) => [name.toLowerCase(), value])),
  });
  return items.map((item) => (isChangeSet(item) ? { changeSet: item.changeSet.map(lower) } : lower(item)));
}

describe('round trips (fast-check)', () => {
  test('random request sets survive encodeBatchRequest → decodeBatchRequest', () => {
    fc.assert(
      fc.property(requestItems, fc.boolean(), (items, lfOnly) => {
        // Header names are case-insensitive; the decoder lower-cases them. Duplicate names collapse first.
        const normalised = lowerCased(items);
        const encoded = encodeBatchRequest(normalised);
        const text = lfOnly ? encoded.body.replace(/\r\n/g, '\n') : encoded.body;
        const decoded = decodeBatchRequest(lfOnly ? undefined : encoded.contentType, text);
        const expected = lfOnly
          ? (JSON.parse(JSON.stringify(normalised).replace(/\\r\\n/g, '\\n')) as typeof normalised)
          : normalised;
        expect(decoded).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  test('random response sets survive encodeBatchResponse → decodeBatchResponse, reason phrases ignored', () => {
    const responsePart = fc.record({
      status: fc.constantFrom(200, 201, 204, 400, 404, 412, 429, 500, 503),
      headers,
      body: fc.oneof(fc.constant(''), jsonBody),
    });
    const items = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: responsePart },
        {
          weight: 1,
          arbitrary: fc.array(responsePart, { minLength: 1, maxLength: 3 }).map((changeSet) => ({ changeSet })),
        },
      ),
      { minLength: 1, maxLength: 10 },
    );
    fc.assert(
      fc.property(items, (generated) => {
        const normalised = generated.map((item) => {
          const lower = (part: { status: number; headers: Record<string, string>; body: string }) => ({
            ...part,
            headers: Object.fromEntries(
              Object.entries(part.headers).map(([name, value]) => [name.toLowerCase(), value]),
            ),
          });
          return 'changeSet' in item ? { changeSet: item.changeSet.map(lower) } : lower(item);
        });
        const encoded = encodeBatchResponse(normalised);
        // Dataverse's documented responses carry no Content-Type: the boundary must come from the body.
        expect(decodeBatchResponse(undefined, encoded.body)).toEqual(normalised);
        expect(decodeBatchResponse(encoded.contentType, encoded.body)).toEqual(normalised);
      }),
      { numRuns: 300 },
    );
  });
});
