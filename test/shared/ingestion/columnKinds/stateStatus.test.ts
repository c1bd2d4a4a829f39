import { convertStateStatus } from '../../../../shared/ingestion/columnKinds';
import { account, task } from './fixture';

const cells = (state?: string, status?: string) => ({
  ...(state === undefined ? {} : { state: { column: 'State', text: state } }),
  ...(status === undefined ? {} : { status: { column: 'Status', text: status } }),
});

test('reads state and status by value or label; a status alone brings its state', () => {
  expect(convertStateStatus(account, cells('Inactive', '2'), 1, 'update')).toEqual({
    ok: true,
    value: { body: { statecode: 1, statuscode: 2 } },
  });
  expect(convertStateStatus(account, cells(undefined, 'inactive'), 1, 'update')).toEqual({
    ok: true,
    value: { body: { statecode: 1, statuscode: 2 } },
  });
  expect(convertStateStatus(account, cells('1'), 1, 'update')).toEqual({ ok: true, value: { body: { statecode: 1 } } });
  expect(convertStateStatus(account, cells('', ''), 1, 'create')).toEqual({ ok: true, value: { body: {} } });
});

test('a status of another state fails the row before anything is sent', () => {
  expect(convertStateStatus(task, cells('Open', 'Completed'), 8, 'create')).toEqual({
    ok: false,
    fault: {
      rowNumber: 8,
      column: 'Status',
      value: 'Completed',
      message: "row 8, column 'Status': status Completed (5) belongs to state Completed (1), not to Open (0)",
    },
  });
  const unknown = convertStateStatus(task, cells('Done'), 2, 'create');
  expect(!unknown.ok && unknown.fault.message).toBe(
    "row 2, column 'State': 'Done' is not a state of task (Open (0), Completed (1), Canceled (2))",
  );
});

test('a state the table does not take on create (or upsert) goes to a second request; an update sends it', () => {
  expect(convertStateStatus(task, cells('Completed', 'Completed'), 1, 'create')).toEqual({
    ok: true,
    value: { body: {}, secondRequest: { statecode: 1, statuscode: 5 } },
  });
  expect(convertStateStatus(task, cells('Canceled'), 1, 'upsert')).toEqual({
    ok: true,
    value: { body: {}, secondRequest: { statecode: 2 } },
  });
  expect(convertStateStatus(task, cells('Open', 'In Progress'), 1, 'create')).toEqual({
    ok: true,
    value: { body: { statecode: 0, statuscode: 3 } },
  });
  expect(convertStateStatus(task, cells('Completed', '5'), 1, 'update')).toEqual({
    ok: true,
    value: { body: { statecode: 1, statuscode: 5 } },
  });
  // Unknown settable states: only the default state is assumed, so an inactive account is created then updated.
  expect(convertStateStatus(account, cells('Inactive'), 1, 'create')).toEqual({
    ok: true,
    value: { body: {}, secondRequest: { statecode: 1 } },
  });
});
