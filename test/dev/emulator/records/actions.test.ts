import { harness, idFromEntityId, webApi } from './harness';

describe('WhoAmI', () => {
  it('answers the fixture shape with a UserId stable per caller', async () => {
    const { call } = harness();
    const a = await call('GET', 'WhoAmI()', { caller: 'app-1' });
    expect(a.status).toBe(200);
    expect(Object.keys(a.json)).toEqual(['@odata.context', 'BusinessUnitId', 'UserId', 'OrganizationId']);
    expect(a.json['@odata.context']).toBe(`${webApi}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`);
    expect((await call('GET', 'WhoAmI', { caller: 'app-1' })).json).toEqual(a.json);
    expect((await harness().call('GET', 'WhoAmI', { caller: 'app-1' })).json.UserId).toBe(a.json.UserId);
    expect((await call('GET', 'WhoAmI', { caller: 'app-2' })).json.UserId).not.toBe(a.json.UserId);
  });
});

describe('Merge', () => {
  async function twoAccounts() {
    const h = harness();
    const target = idFromEntityId(await h.call('POST', 'accounts', { body: { name: 'Target', telephone1: '1' } }));
    const sub = idFromEntityId(await h.call('POST', 'accounts', { body: { name: 'Sub', telephone1: '2' } }));
    const child = idFromEntityId(
      await h.call('POST', 'contacts', {
        body: { lastname: 'Child', 'parentcustomerid_account@odata.bind': `/accounts(${sub})` },
      }),
    );
    const task = idFromEntityId(
      await h.call('POST', 'tasks', {
        body: { subject: 'T', 'regardingobjectid_account_task@odata.bind': `/accounts(${sub})` },
      }),
    );
    return { ...h, target, sub, child, task };
  }
  const ref = (id: string) => ({ '@odata.type': 'Microsoft.Dynamics.CRM.account', accountid: id });

  it('deactivates the subordinate, sets masterid, applies UpdateContent and re-parents related rows', async () => {
    const { call, target, sub, child, task } = await twoAccounts();
    const res = await call('POST', 'Merge', {
      body: {
        Target: ref(target),
        Subordinate: ref(sub),
        UpdateContent: { '@odata.type': 'Microsoft.Dynamics.CRM.account', telephone1: '2' },
        PerformParentingChecks: false,
      },
    });
    expect(res.status).toBe(204);
    expect((await call('GET', `accounts(${sub})`)).json).toMatchObject({
      statecode: 1,
      statuscode: 2,
      merged: true,
      _masterid_value: target,
    });
    expect((await call('GET', `accounts(${target})`)).json).toMatchObject({
      statecode: 0,
      telephone1: '2',
      name: 'Target',
    });
    expect((await call('GET', `contacts(${child})`)).json._parentcustomerid_value).toBe(target);
    expect((await call('GET', `tasks(${task})`)).json._regardingobjectid_value).toBe(target);
    const again = await call('POST', 'Merge', {
      body: { Target: ref(target), Subordinate: ref(sub), PerformParentingChecks: false },
    });
    expect(again.status).toBe(400);
  });

  it('fails cleanly: missing records, same record, other tables, parenting checks', async () => {
    const { call, target, sub } = await twoAccounts();
    expect(
      (
        await call('POST', 'Merge', {
          body: { Target: ref(target), Subordinate: ref('00000000-0000-0000-0000-0000000000ff') },
        })
      ).status,
    ).toBe(404);
    expect((await call('POST', 'Merge', { body: { Target: ref(target), Subordinate: ref(target) } })).status).toBe(400);
    const t = idFromEntityId(await call('POST', 'tasks', { body: { subject: 's' } }));
    const tasks = await call('POST', 'Merge', {
      body: {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.task', activityid: t },
        Subordinate: { '@odata.type': 'Microsoft.Dynamics.CRM.task', activityid: t },
      },
    });
    expect(tasks.json.error.code).toBe('0x80040800');
    const p1 = idFromEntityId(await call('POST', 'accounts', { body: { name: 'P1' } }));
    const p2 = idFromEntityId(await call('POST', 'accounts', { body: { name: 'P2' } }));
    await call('PATCH', `accounts(${target})`, { body: { 'parentaccountid@odata.bind': `/accounts(${p1})` } });
    await call('PATCH', `accounts(${sub})`, { body: { 'parentaccountid@odata.bind': `/accounts(${p2})` } });
    const checked = await call('POST', 'Merge', {
      body: { Target: ref(target), Subordinate: ref(sub), PerformParentingChecks: true },
    });
    expect(checked.status).toBe(400);
    expect((await call('GET', `accounts(${sub})`)).json.statecode).toBe(0);
    expect(
      (
        await call('POST', 'Merge', {
          body: { Target: ref(target), Subordinate: ref(sub), PerformParentingChecks: false },
        })
      ).status,
    ).toBe(204);
  });

  it('rolls back a merge whose UpdateContent is invalid', async () => {
    const { call, target, sub, child } = await twoAccounts();
    const res = await call('POST', 'Merge', {
      body: { Target: ref(target), Subordinate: ref(sub), UpdateContent: { telephone1: 'x'.repeat(51) } },
    });
    expect(res.status).toBe(400);
    expect((await call('GET', `accounts(${sub})`)).json.statecode).toBe(0);
    expect((await call('GET', `contacts(${child})`)).json._parentcustomerid_value).toBe(sub);
  });

  it('merges contacts too', async () => {
    const { call } = harness();
    const a = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'A' } }));
    const b = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'B' } }));
    const res = await call('POST', 'Merge', {
      body: {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: a },
        Subordinate: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: b },
        PerformParentingChecks: false,
      },
    });
    expect(res.status).toBe(204);
    expect((await call('GET', `contacts(${b})`)).json).toMatchObject({ statecode: 1, _masterid_value: a });
  });
});
