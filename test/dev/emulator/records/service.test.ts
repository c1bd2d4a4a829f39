import { routeRequest } from '../testRoute';
import { harness, idFromEntityId } from './harness';

describe('record service', () => {
  it('rolls back every change made inside a failed transaction, across awaits', async () => {
    const { call, service } = harness();
    const kept = idFromEntityId(await call('POST', 'accounts', { body: { name: 'kept', accountnumber: 'K' } }));
    await expect(
      service.transaction(async () => {
        await call('POST', 'accounts', { body: { name: 'new', accountnumber: 'N' } });
        await new Promise((r) => setImmediate(r));
        await call('PATCH', `accounts(${kept})`, { body: { name: 'changed', accountnumber: 'K2' } });
        await call('DELETE', `accounts(${kept})`);
        throw new Error('change set failed');
      }),
    ).rejects.toThrow('change set failed');
    const rows = (await call('GET', 'accounts')).json.value;
    expect(rows.map((r) => [r.name, r.accountnumber])).toEqual([['kept', 'K']]);
    expect((await call('GET', `accounts(accountnumber='K')`)).status).toBe(200); // key index restored
    expect((await call('POST', 'accounts', { body: { name: 'x', accountnumber: 'N' } })).status).toBe(204); // and freed
  });

  it('keeps committed transactions, and a concurrent request outside a failing transaction', async () => {
    const { call, service } = harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const failing = service.transaction(async () => {
      await call('POST', 'tasks', { body: { subject: 'inside' } });
      await gate;
      throw new Error('boom');
    });
    await call('POST', 'tasks', { body: { subject: 'outside' } });
    release();
    await expect(failing).rejects.toThrow('boom');
    await service.transaction(async () => {
      await call('POST', 'tasks', { body: { subject: 'committed' } });
    });
    expect((await call('GET', 'tasks?$orderby=subject')).json.value.map((r) => r.subject)).toEqual([
      'committed',
      'outside',
    ]);
  });

  it('rolls back a nested inner transaction only when it fails, and the outer one entirely', async () => {
    const { call, service } = harness();
    await service.transaction(async () => {
      await call('POST', 'tasks', { body: { subject: 'outer' } });
      await service.transaction(async () => {
        await call('POST', 'tasks', { body: { subject: 'inner ok' } });
      });
      await expect(
        service.transaction(async () => {
          await call('POST', 'tasks', { body: { subject: 'inner bad' } });
          throw new Error('x');
        }),
      ).rejects.toThrow();
    });
    expect((await call('GET', 'tasks?$orderby=subject')).json.value.map((r) => r.subject)).toEqual([
      'inner ok',
      'outer',
    ]);
    await expect(
      service.transaction(async () => {
        await service.transaction(async () => {
          await call('POST', 'tasks', { body: { subject: 'inner of failed outer' } });
        });
        throw new Error('outer fails');
      }),
    ).rejects.toThrow();
    expect((await call('GET', 'tasks')).json.value).toHaveLength(2);
  });

  it('counts records per table, resets, and exports/imports its state', async () => {
    const { call, service } = harness();
    await call('POST', 'accounts', { body: { name: 'a', accountnumber: 'S1' } });
    await call('POST', 'contacts', { body: { lastname: 'c' } });
    expect(service.stats().recordsPerTable).toMatchObject({ account: 1, contact: 1, task: 0 });
    const state: unknown = JSON.parse(JSON.stringify(service.exportState()));
    service.reset();
    expect(service.stats().recordsPerTable.account).toBe(0);
    const other = harness();
    other.service.importState(state);
    expect((await other.call('GET', `accounts(accountnumber='S1')`)).json.name).toBe('a');
    expect((await other.call('POST', 'accounts', { body: { name: 'b', accountnumber: 'S1' } })).status).toBe(412);
    expect(() => other.service.importState({ version: 2 })).toThrow();
  });

  it('leaves paths that are not its own to other routes', async () => {
    const { service } = harness();
    const req = (path: string) => routeRequest('GET', path);
    expect(await service.route(req('asyncoperations'))).toBeUndefined();
    expect(await service.route(req('ImportSolutionAsync'))).toBeUndefined();
  });
});
