import { harness, webApi } from './harness';

const type = (t: string) => `Microsoft.Dynamics.CRM.${t}`;

describe('bulk messages', () => {
  it('CreateMultiple returns Ids in order; UpdateMultiple updates them (fixture shapes)', async () => {
    const { call } = harness();
    const created = await call('POST', 'sample_examples/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: {
        Targets: [1, 2, 3].map((i) => ({
          sample_name: `sample record 000000${i}`,
          '@odata.type': type('sample_example'),
        })),
      },
    });
    expect(created.status).toBe(200);
    expect(created.json['@odata.context']).toBe(`${webApi}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`);
    expect(created.json.Ids).toHaveLength(3);
    const ids: string[] = created.json.Ids;
    expect((await call('GET', `sample_examples(${ids[1]})`)).json.sample_name).toBe('sample record 0000002');
    const updated = await call(
      'POST',
      'sample_examples/Microsoft.Dynamics.CRM.UpdateMultiple?tag=CreateUpdateMultiple',
      {
        body: {
          Targets: ids.map((id, i) => ({
            sample_name: `u${i}`,
            '@odata.type': type('sample_example'),
            sample_exampleid: id,
          })),
        },
      },
    );
    expect(updated.status).toBe(204);
    expect(updated.body).toBeUndefined();
    expect((await call('GET', 'sample_examples?$orderby=sample_name')).json.value.map((r) => r.sample_name)).toEqual([
      'u0',
      'u1',
      'u2',
    ]);
  });

  it('UpsertMultiple creates and updates by @odata.id alternate key, with key values copied from it', async () => {
    const { call } = harness();
    const upsert = (names: string[]) =>
      call('POST', 'sample_examples/Microsoft.Dynamics.CRM.UpsertMultiple', {
        body: {
          Targets: names.map((n, i) => ({
            '@odata.type': type('sample_example'),
            sample_name: n,
            '@odata.id': `sample_examples(sample_keyattribute='000000${i + 1}')`,
          })),
        },
      });
    expect((await upsert(['a', 'b', 'c', 'd'])).status).toBe(204);
    expect((await upsert(['A', 'B'])).status).toBe(204);
    const rows = (
      await call('GET', 'sample_examples?$select=sample_name,sample_keyattribute&$orderby=sample_keyattribute')
    ).json.value;
    expect(rows.map((r) => [r.sample_keyattribute, r.sample_name])).toEqual([
      ['0000001', 'A'],
      ['0000002', 'B'],
      ['0000003', 'c'],
      ['0000004', 'd'],
    ]);
  });

  it('UpsertMultiple with the key both in the body and in @odata.id fails the create path only (PYSDK PR #127)', async () => {
    const { call } = harness();
    const target = {
      '@odata.type': type('new_altkeydemo'),
      new_externalid: 'EXT-007',
      new_productname: 'Widget C',
      new_price: 29.99,
      '@odata.id': "new_altkeydemos(new_externalid='EXT-007')",
    };
    const create = await call('POST', 'new_altkeydemos/Microsoft.Dynamics.CRM.UpsertMultiple', {
      body: { Targets: [target] },
    });
    expect(create.status).toBe(400);
    expect(create.json).toEqual({ error: { code: '0x80040216', message: 'An unexpected error occurred.' } });
    await call('POST', 'new_altkeydemos', { body: { new_externalid: 'EXT-007', new_productname: 'old' } });
    expect(
      (await call('POST', 'new_altkeydemos/Microsoft.Dynamics.CRM.UpsertMultiple', { body: { Targets: [target] } }))
        .status,
    ).toBe(204);
    expect((await call('GET', "new_altkeydemos(new_externalid='EXT-007')")).json).toMatchObject({
      new_productname: 'Widget C',
      new_price: 29.99,
    });
  });

  it('requires @odata.type on every target and the right one', async () => {
    const { call } = harness();
    const missing = await call('POST', 'accounts/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: { Targets: [{ '@odata.type': type('account'), name: 'a' }, { name: 'b' }] },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toContain("index 1 of 'Targets' has no '@odata.type'");
    const wrong = await call('POST', 'accounts/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: { Targets: [{ '@odata.type': type('contact'), lastname: 'b' }] },
    });
    expect(wrong.status).toBe(400);
    expect((await call('POST', 'accounts/Microsoft.Dynamics.CRM.CreateMultiple', { body: {} })).status).toBe(400);
    expect((await call('GET', 'accounts')).json.value).toHaveLength(0);
  });

  it('is all-or-nothing: one bad target rolls back the whole request', async () => {
    const { call } = harness();
    const bad = await call('POST', 'tasks/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: {
        Targets: [
          { '@odata.type': type('task'), subject: 'ok 1' },
          { '@odata.type': type('task'), subject: 'ok 2' },
          { '@odata.type': type('task'), subject: 'x'.repeat(201) },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('0x80044331');
    expect((await call('GET', 'tasks')).json.value).toHaveLength(0);
    const ids = (
      await call('POST', 'tasks/Microsoft.Dynamics.CRM.CreateMultiple', {
        body: { Targets: [{ '@odata.type': type('task'), subject: 'keep' }] },
      })
    ).json.Ids;
    const update = await call('POST', 'tasks/Microsoft.Dynamics.CRM.UpdateMultiple', {
      body: {
        Targets: [
          { '@odata.type': type('task'), activityid: ids[0], subject: 'changed' },
          { '@odata.type': type('task'), activityid: '00000000-0000-0000-0000-000000000001', subject: 'nope' },
        ],
      },
    });
    expect(update.status).toBe(404);
    expect((await call('GET', `tasks(${ids[0]})`)).json.subject).toBe('keep');
    const dupKeys = await call('POST', 'accounts/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: {
        Targets: [
          { '@odata.type': type('account'), name: 'a', accountnumber: 'D' },
          { '@odata.type': type('account'), name: 'b', accountnumber: 'd' },
        ],
      },
    });
    expect(dupKeys.status).toBe(412);
    expect((await call('GET', 'accounts')).json.value).toHaveLength(0);
  });

  it('DeleteMultiple works on elastic tables only', async () => {
    const { call } = harness();
    const ids = (
      await call('POST', 'contoso_sensordatas/Microsoft.Dynamics.CRM.CreateMultiple', {
        body: {
          Targets: [1, 2, 3].map((i) => ({
            '@odata.type': type('contoso_sensordata'),
            contoso_name: `s${i}`,
            partitionid: 'Device-ABC-1234',
          })),
        },
      })
    ).json.Ids;
    const del = await call('POST', 'contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple', {
      body: {
        Targets: ids.slice(0, 2).map((id: string) => ({
          '@odata.type': type('contoso_sensordata'),
          contoso_sensordataid: id,
          partitionid: 'Device-ABC-1234',
        })),
      },
    });
    expect(del.status).toBe(204);
    expect((await call('GET', 'contoso_sensordatas')).json.value.map((r) => r.contoso_sensordataid)).toEqual([ids[2]]);
    const again = await call('POST', 'contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple', {
      body: {
        Targets: [
          { '@odata.type': type('contoso_sensordata'), contoso_sensordataid: ids[0], partitionid: 'Device-ABC-1234' },
        ],
      },
    });
    expect(again.status).toBe(204); // already gone: skipped
    expect(
      (
        await call('POST', 'contoso_sensordatas/Microsoft.Dynamics.CRM.DeleteMultiple', {
          body: { Targets: [{ '@odata.type': type('contoso_sensordata') }] },
        })
      ).status,
    ).toBe(400);
    const standard = await call('POST', 'accounts/Microsoft.Dynamics.CRM.DeleteMultiple', { body: { Targets: [] } });
    expect(standard.status).toBe(400);
    expect(standard.json.error.message).toBe('DeleteMultiple has not yet been implemented.');
  });

  it('refuses bulk messages on a table that does not support them, and unknown messages', async () => {
    const { call } = harness();
    const res = await call('POST', 'new_legacyrecords/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: { Targets: [{ '@odata.type': type('new_legacyrecord'), new_name: 'x' }] },
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      code: '0x80040800',
      message:
        "The 'CreateMultiple' method does not support entities of type 'new_legacyrecord'. MessageProcessorCache returned MessageProcessor.Empty. ",
    });
    expect((await call('POST', 'accounts/Microsoft.Dynamics.CRM.FrobnicateMultiple', { body: {} })).status).toBe(404);
    expect((await call('POST', 'new_legacyrecords', { body: { new_name: 'single create still works' } })).status).toBe(
      204,
    );
  });
});
