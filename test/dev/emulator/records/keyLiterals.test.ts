/**
 * How the emulator reads key literals (docs/design.md "Key literals"): a request path and an `@odata.id` /
 * `@odata.bind` value are both URLs, split into segments and percent-decoded once; a key value holding one of
 * `/ # < > * % & : \ ? +` is refused, as Microsoft documents for GET and PATCH by such a key.
 */
import { harness } from './harness';

const valuesOf = (res: { json: unknown }) => (res.json as { value: Record<string, unknown>[] }).value;
const errorOf = (res: { json: unknown }) => (res.json as { error: { message: string } }).error.message;

describe('key literals in the emulator', () => {
  it('reads an @odata.id key unencoded (as Microsoft writes it) or percent-encoded, to the same value', async () => {
    const h = harness();
    const call = h.call.bind(h);
    const upsert = (odataId: string, lastname: string) =>
      call('POST', 'contacts/Microsoft.Dynamics.CRM.UpsertMultiple', {
        body: { Targets: [{ '@odata.type': 'Microsoft.Dynamics.CRM.contact', lastname, '@odata.id': odataId }] },
      });
    expect((await upsert("contacts(emailaddress1='ada@example.com')", 'one')).status).toBe(204);
    expect((await upsert("contacts(emailaddress1='ada%40example.com')", 'two')).status).toBe(204);
    const rows = valuesOf(await call('GET', 'contacts?$select=emailaddress1,lastname'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ emailaddress1: 'ada@example.com', lastname: 'two' });
  });

  it('reads a key in a request path with quotes doubled, spaces and unicode exactly', async () => {
    const h = harness();
    const call = h.call.bind(h);
    const patched = await call('PATCH', "contacts(emailaddress1='jos\u00e9 o''neil@example.com')", {
      body: { lastname: 'L' },
    });
    expect(patched.status).toBe(204);
    // Echoed as a URL: percent-encoded, so a non-ASCII key can go in the header at all.
    expect(patched.headers?.['OData-EntityId']).toMatch(
      /contacts\(emailaddress1='jos%C3%A9%20o''neil@example\.com'\)$/,
    );
    const got = await call('GET', "contacts(emailaddress1='jos\u00e9 o''neil@example.com')?$select=emailaddress1");
    expect((got.json as Record<string, unknown>).emailaddress1).toBe("jos\u00e9 o'neil@example.com");
  });

  it('refuses / # < > * % & : \\ ? + in a key in a path, an @odata.id and an @odata.bind, naming the character', async () => {
    const h = harness();
    const call = h.call.bind(h);
    for (const character of '/#<>*%&:\\?+') {
      const value = `a${character}b@example.com`.replace(/'/g, "''");
      // The route sees the path already decoded (the server decodes it); a raw '?' would start the query here.
      if (character !== '?') {
        const patched = await call('PATCH', `contacts(emailaddress1='${value}')`, { body: { lastname: 'L' } });
        expect(patched.status).toBe(400);
        expect(errorOf(patched)).toBe(
          `A potentially dangerous Request.Path value was detected from the client (${character}).`,
        );
      }
      const bulk = await call('POST', 'contacts/Microsoft.Dynamics.CRM.UpsertMultiple', {
        body: {
          Targets: [
            {
              '@odata.type': 'Microsoft.Dynamics.CRM.contact',
              lastname: 'L',
              '@odata.id': `contacts(emailaddress1='${encodeURIComponent(value)}')`,
            },
          ],
        },
      });
      expect(bulk.status).toBe(400);
      const bound = await call('POST', 'accounts', {
        body: { name: 'A', 'primarycontactid@odata.bind': `/contacts(emailaddress1='${encodeURIComponent(value)}')` },
      });
      expect(bound.status).toBe(400);
    }
    expect(valuesOf(await call('GET', 'contacts'))).toHaveLength(0);
    // The same values are fine in a $filter: a query string is not a path.
    expect((await call('GET', `contacts?$filter=${encodeURIComponent("emailaddress1 eq 'a+b/c?d#e'")}`)).status).toBe(
      200,
    );
  });

  it("an unencoded '/' inside a bound key breaks the reference, as reported for Dataverse", async () => {
    const h = harness();
    const call = h.call.bind(h);
    const bound = await call('POST', 'accounts', {
      body: { name: 'A', 'primarycontactid@odata.bind': "/contacts(emailaddress1='Water Auth/Company')" },
    });
    expect(bound.status).toBe(400);
    expect(errorOf(bound)).toMatch(/Error in query syntax/);
  });
});
