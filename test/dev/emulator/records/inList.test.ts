/**
 * `in`-style lists written as `or` chains (issue 3): the loader checks which of many ids exist in one query
 * (`accountid eq <guid> or ...`), and upserts look up alternate keys the same way. Answered by index lookup
 * when the chain is all `eq` on the primary key or a single-column alternate key.
 */
import fc from 'fast-check';
import { startEmulator } from '../../../../dev/emulator/index';
import { defaultSchema } from '../../../../dev/emulator/records/defaultSchema';
import { queryRows, type RowSource } from '../../../../dev/emulator/records/query';
import { compileSchema } from '../../../../dev/emulator/records/schema';
import type { Row } from '../../../../dev/emulator/records/store';
import { auth, batchBody } from '../testRoute';
import { harness, idFromEntityId, webApi } from './harness';

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const missingId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

async function seeded(count: number) {
  const h = harness();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await h.call('POST', 'accounts', {
      body: { name: `Account ${i}`, accountnumber: `AN-${i}`, numberofemployees: i },
    });
    expect(res.status).toBe(204);
    ids.push(idFromEntityId(res));
  }
  return { ...h, ids };
}

describe('or-chains as in-lists on records', () => {
  it('hundreds of accountid terms (upper-case, duplicates, missing ids) answer exactly the existing rows', async () => {
    const { call, ids } = await seeded(400);
    const asked = [
      ...ids.filter((_, i) => i % 2 === 0),
      ...Array.from({ length: 300 }, (_, i) => missingId(i)),
      ids[0]!,
    ];
    const filter = asked.map((id) => `accountid eq ${id.toUpperCase()}`).join(' or ');
    const res = await call('GET', `accounts?$select=accountid&$count=true&$filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(200);
    const found = res.json.value.map((r) => r.accountid);
    expect(new Set(found)).toEqual(new Set(ids.filter((_, i) => i % 2 === 0)));
    expect(found).toHaveLength(200);
    expect(res.json['@odata.count']).toBe(200);
  });

  it('an accountnumber chain (alternate key) matches the scan of the same list on a non-key column, case-insensitively', async () => {
    const { call } = await seeded(60);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 80 }).map((i) => `an-${i}`),
            fc.string({ maxLength: 5 }),
          ),
          { minLength: 1, maxLength: 300 },
        ),
        async (numbers) => {
          const byKey = await call(
            'GET',
            `accounts?$select=name&$orderby=numberofemployees&$filter=${encodeURIComponent(numbers.map((n) => `accountnumber eq ${quote(n)}`).join(' or '))}`,
          );
          // name is not a key: same list, answered by the scan with set membership.
          const names = numbers.map((n) => (/^an-\d+$/.test(n) ? `account ${n.slice(3)}` : n));
          const byScan = await call(
            'GET',
            `accounts?$select=name&$orderby=numberofemployees&$filter=${encodeURIComponent(names.map((n) => `name eq ${quote(n)}`).join(' or '))}`,
          );
          expect(byKey.status).toBe(200);
          expect(byKey.json.value).toEqual(byScan.json.value);
          const expected = [
            ...new Set(
              numbers
                .filter((n) => /^an-\d+$/.test(n))
                .map((n) => Number(n.slice(3)))
                .filter((i) => i < 60),
            ),
          ].sort((a, b) => a - b);
          expect(byKey.json.value.map((r) => r.name)).toEqual(expected.map((i) => `Account ${i}`));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a key chain is answered from the index: the table scan is never read', () => {
    const account = compileSchema(defaultSchema).tables.get('account')!;
    const rows = new Map<string, Row>([['a1', { accountid: 'a1', accountnumber: 'AN-1', name: 'One' }]]);
    const looked: unknown[][] = [];
    const source: RowSource = {
      all: () => {
        throw new Error('scanned');
      },
      byKey: (column, values) => {
        looked.push([column, ...values]);
        return values.flatMap((v) =>
          [...rows.values()].filter((r) => String(r[column]).toLowerCase() === String(v).toLowerCase()),
        );
      },
    };
    const query = (filter: string) =>
      queryRows(account, source, {
        webApiBase: webApi,
        path: 'accounts',
        query: new URLSearchParams({ $filter: filter, $select: 'name' }),
        prefer: undefined,
        nameOf: () => undefined,
      });
    expect((query("accountnumber eq 'an-1' or accountnumber eq 'AN-2'").body as { value: unknown[] }).value).toEqual([
      expect.objectContaining({ name: 'One' }),
    ]);
    expect(looked).toEqual([['accountnumber', 'an-1', 'AN-2']]);
    // Not a single-property eq chain: the scan is needed.
    expect(() => query("accountnumber eq 'an-1' or name eq 'One'")).toThrow('scanned');
  });

  it('over HTTP: a 500-id existence check in one GET URL, and the same query inside a $batch', async () => {
    const emulator = await startEmulator();
    try {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${emulator.webApiUrl}accounts`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: `Http ${i}` }),
        });
        expect(res.status).toBe(204);
        created.push(/\(([0-9a-f-]{36})\)$/.exec(res.headers.get('OData-EntityId')!)![1]!);
      }
      const filter = [...Array.from({ length: 495 }, (_, i) => missingId(i)), ...created]
        .map((id) => `accountid eq ${id}`)
        .join(' or ');
      const res = await fetch(`${emulator.webApiUrl}accounts?$select=accountid&$filter=${encodeURIComponent(filter)}`, {
        headers: auth,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { value: { accountid: string }[] }).value.map((r) => r.accountid).sort()).toEqual(
        [...created].sort(),
      );

      const body = batchBody('batch_in', [
        `GET /api/data/v9.2/accounts?$select=accountid&$filter=${encodeURIComponent(filter)} HTTP/1.1\r\nAccept: application/json\r\n`,
      ]);
      const batch = await fetch(`${emulator.webApiUrl}$batch`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'multipart/mixed; boundary=batch_in' },
        body,
      });
      expect(batch.status).toBe(200);
      const text = await batch.text();
      expect(text).toContain('HTTP/1.1 200 OK');
      for (const id of created) expect(text).toContain(id);
    } finally {
      await emulator.close();
    }
  });
});
