/** statecode / statuscode: metadata, a status of another state refused, states a create may not set. */
import { z } from 'zod';
import { harness, idFromEntityId } from '../records/harness';

/** StatusAttributeMetadata's options: each status names its State. */
const statusOptions = z.object({
  OptionSet: z.object({ Options: z.array(z.object({ Value: z.number(), State: z.number() })) }),
});
/** StateAttributeMetadata's options: each state names its DefaultStatus and InvariantName. */
const stateOptions = z.object({
  OptionSet: z.object({
    Options: z.array(z.object({ Value: z.number(), DefaultStatus: z.number(), InvariantName: z.string() })),
  }),
});

describe('metadata', () => {
  it('gives each status its State and each state its DefaultStatus', async () => {
    const { call } = harness();
    const status = await call(
      'GET',
      "EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)",
    );
    const options = statusOptions.parse(status.json.value[0]).OptionSet.Options;
    expect(options.map((o) => [o.Value, o.State])).toEqual([
      [2, 0],
      [3, 0],
      [4, 0],
      [7, 0],
      [5, 1],
      [6, 2],
    ]);
    const state = await call(
      'GET',
      "EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM.StateAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)",
    );
    expect(
      stateOptions.parse(state.json.value[0]).OptionSet.Options.map((o) => [o.Value, o.DefaultStatus, o.InvariantName]),
    ).toEqual([
      [0, 2, 'Open'],
      [1, 5, 'Completed'],
      [2, 6, 'Canceled'],
    ]);
  });
});

describe('validation', () => {
  it('creates an inactive account with a status of that state', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'accounts', { body: { name: 'A', statecode: 1, statuscode: 2 } }));
    expect((await call('GET', `accounts(${id})?$select=statecode,statuscode`)).json).toMatchObject({
      statecode: 1,
      statuscode: 2,
    });
  });

  it('refuses a status of another state, naming status, state, table and id', async () => {
    const { call } = harness();
    const id = '00000000-0000-0000-0000-0000000000a1';
    const res = await call('POST', 'accounts', { body: { accountid: id, name: 'A', statecode: 0, statuscode: 2 } });
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      code: '0x80048408',
      message: `2 is not a valid status code for state code AccountState.Active on account with Id ${id}.`,
    });
    expect((await call('GET', `accounts(${id})`)).status).toBe(404);
  });

  it('checks a statuscode sent alone against the current state; a statecode alone takes its first status', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'tasks', { body: { subject: 'T' } }));
    expect((await call('PATCH', `tasks(${id})`, { body: { statuscode: 3 } })).status).toBe(204);
    const other = await call('PATCH', `tasks(${id})`, { body: { statuscode: 5 } });
    expect(other.status).toBe(400);
    expect(other.json.error.message).toBe(
      `5 is not a valid status code for state code TaskState.Open on task with Id ${id}.`,
    );
    expect((await call('PATCH', `tasks(${id})`, { body: { statecode: 1 } })).status).toBe(204);
    expect((await call('GET', `tasks(${id})?$select=statecode,statuscode`)).json).toMatchObject({
      statecode: 1,
      statuscode: 5,
    });
  });

  it('creates a task in Open whatever state is asked: the completed status is refused, the state alone ignored', async () => {
    const { call } = harness();
    const refused = await call('POST', 'tasks', { body: { subject: 'T', statecode: 1, statuscode: 5 } });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/^5 is not a valid status code for state code TaskState\.Open on task/);
    const id = idFromEntityId(await call('POST', 'tasks', { body: { subject: 'T', statecode: 1 } }));
    expect((await call('GET', `tasks(${id})?$select=statecode,statuscode`)).json).toMatchObject({
      statecode: 0,
      statuscode: 2,
    });
    // The second request a loader sends: the state is set by an update.
    expect((await call('PATCH', `tasks(${id})`, { body: { statecode: 1, statuscode: 5 } })).status).toBe(204);
  });

  it('refuses a status value that is no option at all', async () => {
    const { call } = harness();
    const res = await call('POST', 'accounts', { body: { name: 'A', statuscode: 99 } });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('0x8004431A');
  });
});
