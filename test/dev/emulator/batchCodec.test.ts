import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  boundaryOf,
  parseBatchRequest,
  serializeBatchResponse,
  splitMultipart,
  type BatchOperation,
} from '../../../dev/emulator/batchCodec';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'dataverse');

/** A fixture's `.http` text split into its head and body (blank line), as sent on the wire with CRLF. */
function readHttpFixture(name: string): { headers: Record<string, string>; body: string; firstLine: string } {
  const text = readFileSync(join(FIXTURES, name), 'utf8')
    .replace(/\[Organization (URI|Uri)\]/g, 'https://org.example')
    .replace(/\r?\n/g, '\r\n');
  const split = text.indexOf('\r\n\r\n');
  const [firstLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { firstLine: firstLine!, headers, body: text.slice(split + 4) };
}

describe('batch codec', () => {
  test('boundaryOf reads quoted and unquoted boundaries and ignores other types', () => {
    expect(boundaryOf('multipart/mixed; boundary="batch_1"')).toBe('batch_1');
    expect(boundaryOf('multipart/mixed;boundary=batch_AAA123')).toBe('batch_AAA123');
    expect(boundaryOf('  multipart/mixed;  boundary=x; charset=utf-8')).toBe('x');
    expect(boundaryOf('application/json')).toBeUndefined();
    expect(boundaryOf(undefined)).toBeUndefined();
  });

  test.each(readdirSync(FIXTURES).filter((f) => f.startsWith('batch-') && f.endsWith('.request.http')))(
    'parses fixture %s',
    (name) => {
      const { headers, body } = readHttpFixture(name);
      const items = parseBatchRequest(body, boundaryOf(headers['content-type'])!);
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) {
        const ops = item.kind === 'changeset' ? item.operations : [item];
        for (const op of ops) {
          expect(['GET', 'POST', 'PATCH']).toContain(op.method);
          if (op.method === 'POST') expect((): unknown => JSON.parse(op.body)).not.toThrow();
        }
      }
    },
  );

  test('the change set fixture parses into a change set of three creates with Content-IDs and a GET', () => {
    const { headers, body } = readHttpFixture('batch-changeset.request.http');
    const items = parseBatchRequest(body, boundaryOf(headers['content-type'])!);
    expect(items).toHaveLength(2);
    const [cs, get] = items;
    expect(cs!.kind).toBe('changeset');
    if (cs!.kind !== 'changeset') return;
    expect(cs!.operations.map((o) => [o.contentId, o.method, o.url])).toEqual([
      ['1', 'POST', '/api/data/v9.2/tasks'],
      ['2', 'POST', '/api/data/v9.2/tasks'],
      ['3', 'POST', '/api/data/v9.2/tasks'],
    ]);
    expect(cs!.operations[0]!.headers['content-type']).toBe('application/json; type=entry');
    expect(JSON.parse(cs!.operations[1]!.body)).toEqual({
      subject: 'Task 2 in batch',
      'regardingobjectid_account_task@odata.bind': 'accounts(00000000-0000-0000-0000-000000000001)',
    });
    expect(get).toMatchObject({
      kind: 'operation',
      method: 'GET',
      url: '/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks?$select=subject',
      body: '',
    });
  });

  test('a GET inside a change set is refused; a missing close delimiter is an error', () => {
    const body =
      '--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/x HTTP/1.1\r\n\r\n--c--\r\n--b--\r\n';
    expect(() => parseBatchRequest(body, 'b')).toThrow('GET requests are not allowed inside a change set.');
    expect(() => splitMultipart('--b\r\nx\r\n', 'b')).toThrow();
    expect(() => splitMultipart('no delimiter', 'b')).toThrow();
  });

  const header = fc.tuple(
    fc.constantFrom('Prefer', 'MSCRM.BypassCustomPluginExecution', 'CallerObjectId', 'If-Match'),
    fc.stringMatching(/^[A-Za-z0-9=*,;-]{1,20}$/),
  );
  const operation = fc.record({
    method: fc.constantFrom('POST', 'PATCH', 'DELETE'),
    url: fc.stringMatching(/^\/api\/data\/v9\.2\/[a-z]{1,8}(\([0-9a-f-]{1,36}\))?$/),
    headers: fc.array(header, { maxLength: 3 }),
    body: fc.oneof(
      fc.constant(''),
      fc.json().map((j) => j.replace(/[\r\n]/g, ' ')),
    ),
  });
  type GeneratedOp = typeof operation extends fc.Arbitrary<infer T> ? T : never;
  const item = fc.oneof(
    operation.map((op) => ({ changeset: false as const, ops: [op] })),
    fc.array(operation, { minLength: 1, maxLength: 4 }).map((ops) => ({ changeset: true as const, ops })),
  );

  test('property: any batch written with CRLF or LF parses back to the same operations', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 6 }), fc.constantFrom('\r\n', '\n'), (items, eol) => {
        const lines: string[] = [];
        const writeOp = (op: GeneratedOp, contentId?: number) => {
          lines.push('Content-Type: application/http', 'Content-Transfer-Encoding: binary');
          if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
          lines.push('', `${op.method} ${op.url} HTTP/1.1`, ...op.headers.map(([k, v]) => `${k}: ${v}`));
          if (op.body) lines.push('', op.body);
        };
        items.forEach((it, i) => {
          lines.push('--batch_p');
          if (!it.changeset) return writeOp(it.ops[0]!);
          lines.push(`Content-Type: multipart/mixed; boundary=changeset_${i}`, '');
          it.ops.forEach((op, j) => {
            lines.push(`--changeset_${i}`);
            writeOp(op, j + 1);
          });
          lines.push(`--changeset_${i}--`);
        });
        lines.push('--batch_p--', '');
        const parsed = parseBatchRequest(lines.join(eol), 'batch_p');
        expect(parsed).toHaveLength(items.length);
        parsed.forEach((p, i) => {
          const expected = items[i]!;
          const ops: BatchOperation[] = p.kind === 'changeset' ? p.operations : [p];
          expect(p.kind).toBe(expected.changeset ? 'changeset' : 'operation');
          expect(ops.map((o) => ({ method: o.method, url: o.url, body: o.body, headers: o.headers }))).toEqual(
            expected.ops.map((o) => ({
              method: o.method,
              url: o.url,
              body: o.body,
              headers: Object.fromEntries(o.headers.map(([k, v]) => [k.toLowerCase(), v])),
            })),
          );
        });
      }),
    );
  });

  test('responses are framed like the fixtures: delimiter first, CRLF, change set boundaries, empty line after body-less parts', () => {
    let n = 0;
    const guid = () => `0000000${n++}-0000-0000-0000-000000000000`;
    const { boundary, body } = serializeBatchResponse(
      [
        {
          kind: 'changeset',
          responses: [
            {
              status: 204,
              contentId: '1',
              headers: [
                ['OData-Version', '4.0'],
                ['Location', 'L'],
                ['OData-EntityId', 'L'],
              ],
              body: '',
            },
          ],
        },
        {
          kind: 'operation',
          response: {
            status: 400,
            headers: [
              ['REQ_ID', 'r'],
              ['Content-Type', 'application/json; odata.metadata=minimal'],
              ['OData-Version', '4.0'],
            ],
            body: '{"error":{}}',
          },
        },
      ],
      guid,
    );
    expect(boundary).toBe('batchresponse_00000000-0000-0000-0000-000000000000');
    expect(body).toBe(
      [
        '--batchresponse_00000000-0000-0000-0000-000000000000',
        'Content-Type: multipart/mixed; boundary=changesetresponse_00000001-0000-0000-0000-000000000000',
        '',
        '--changesetresponse_00000001-0000-0000-0000-000000000000',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: 1',
        '',
        'HTTP/1.1 204 No Content',
        'OData-Version: 4.0',
        'Location: L',
        'OData-EntityId: L',
        '',
        '',
        '--changesetresponse_00000001-0000-0000-0000-000000000000--',
        '--batchresponse_00000000-0000-0000-0000-000000000000',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        'HTTP/1.1 400 Bad Request',
        'REQ_ID: r',
        'Content-Type: application/json; odata.metadata=minimal',
        'OData-Version: 4.0',
        '',
        '{"error":{}}',
        '--batchresponse_00000000-0000-0000-0000-000000000000--',
        '',
      ].join('\r\n'),
    );
  });
});
