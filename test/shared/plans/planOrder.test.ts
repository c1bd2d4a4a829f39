import fc from 'fast-check';
import { orderPlan, type LookupEdge } from '../../../shared/plans/planOrder';

const edge = (table: string, attribute: string, target: string, required = false): LookupEdge => ({
  table,
  attribute,
  target,
  required,
});

describe('orderPlan', () => {
  test('accounts, contacts and tasks: the account ↔ contact cycle is broken at account.primarycontactid', () => {
    const order = orderPlan({
      tables: ['task', 'contact', 'account'],
      lookups: [
        edge('account', 'parentaccountid', 'account'),
        edge('account', 'primarycontactid', 'contact'),
        edge('contact', 'parentcustomerid', 'account'),
        edge('contact', 'parentcustomerid', 'contact'),
        edge('task', 'regardingobjectid', 'account'),
        edge('task', 'regardingobjectid', 'contact'),
      ],
    });
    expect(order.stages).toEqual([['account'], ['contact'], ['task']]);
    expect(order.deferred.map((d) => [d.table, d.attribute, d.target, d.reason])).toEqual([
      ['account', 'parentaccountid', 'account', 'self'],
      ['account', 'primarycontactid', 'contact', 'cycle'],
      ['contact', 'parentcustomerid', 'contact', 'self'],
    ]);
    expect(order.reasons.account).toEqual([
      'no lookup to another table of the plan',
      'account.parentaccountid → account refers to the table itself: a row whose parent comes later is bound in a second pass',
      'account.primarycontactid → contact is bound in a second pass to break the cycle account → contact → account',
    ]);
    expect(order.reasons.contact).toEqual([
      'after account (contact.parentcustomerid → account)',
      'contact.parentcustomerid → contact refers to the table itself: a row whose parent comes later is bound in a second pass',
    ]);
    expect(order.reasons.task).toEqual([
      'after account, contact (task.regardingobjectid → account; task.regardingobjectid → contact)',
    ]);
  });

  test('independent tables share a stage; lookups to tables outside the plan order nothing', () => {
    const order = orderPlan({
      tables: ['account', 'product', 'contact'],
      lookups: [edge('contact', 'parentcustomerid', 'account'), edge('account', 'ownerid', 'systemuser')],
    });
    expect(order.stages).toEqual([['account', 'product'], ['contact']]);
    expect(order.deferred).toEqual([]);
  });

  test('a required lookup is kept when another edge of the cycle can be deferred', () => {
    const order = orderPlan({
      tables: ['a', 'b'],
      lookups: [edge('a', 'x', 'b', true), edge('b', 'y', 'a')],
    });
    expect(order.stages).toEqual([['b'], ['a']]);
    expect(order.deferred).toMatchObject([{ table: 'b', attribute: 'y', reason: 'cycle' }]);
  });

  test("plan.json's order wins: a lookup to a later table is deferred, with the reason", () => {
    const order = orderPlan({
      tables: ['account', 'contact'],
      lookups: [edge('contact', 'parentcustomerid', 'account')],
      order: ['contact', 'account'],
    });
    expect(order.stages).toEqual([['contact'], ['account']]);
    expect(order.deferred).toMatchObject([{ table: 'contact', attribute: 'parentcustomerid', reason: 'order' }]);
    expect(order.reasons.contact![0]).toBe("position 1 in plan.json's order");
  });

  test('an order naming a table outside the plan fails naming it', () => {
    expect(() => orderPlan({ tables: ['account'], lookups: [], order: ['acount'] })).toThrow(
      "plan.json order names 'acount', which is not a table of this plan",
    );
  });

  const names = ['account', 'contact', 'task', 'lead', 'opportunity', 'quote', 'invoice', 'product'];
  const graph = fc.subarray(names, { minLength: 1 }).chain((tables) =>
    fc.record({
      tables: fc.constant(tables),
      lookups: fc.array(
        fc.record({
          table: fc.constantFrom(...tables),
          attribute: fc.constantFrom('a', 'b', 'c'),
          target: fc.constantFrom(...tables, 'systemuser'),
          required: fc.boolean(),
        }),
        { maxLength: 20 },
      ),
    }),
  );

  function reachable(from: string, to: string, lookups: LookupEdge[]): boolean {
    const seen = new Set([from]);
    const queue = [from];
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (node === to) return true;
      for (const e of lookups)
        if (e.table === node && !seen.has(e.target)) {
          seen.add(e.target);
          queue.push(e.target);
        }
    }
    return false;
  }

  test('property: every table in one stage; every lookup kept points to an earlier stage; deferred ones close a cycle', () => {
    fc.assert(
      fc.property(graph, ({ tables, lookups }) => {
        const order = orderPlan({ tables, lookups });
        const stageOf = new Map<string, number>();
        order.stages.forEach((stage, i) => stage.forEach((t) => stageOf.set(t, i)));
        expect([...stageOf.keys()].sort()).toEqual([...tables].sort());
        expect(order.stages.flat()).toHaveLength(tables.length);
        const isDeferred = (e: LookupEdge) =>
          order.deferred.some((d) => d.table === e.table && d.attribute === e.attribute && d.target === e.target);
        for (const e of lookups) {
          if (!stageOf.has(e.target)) continue;
          if (e.table === e.target) expect(isDeferred(e)).toBe(true);
          else if (!isDeferred(e)) expect(stageOf.get(e.target)!).toBeLessThan(stageOf.get(e.table)!);
        }
        for (const d of order.deferred) {
          if (d.reason === 'self') expect(d.table).toBe(d.target);
          else expect(reachable(d.target, d.table, lookups)).toBe(true);
        }
        // stages are as early as allowed: a table after stage 0 has a kept parent in the stage before
        for (const [table, stage] of stageOf)
          if (stage > 0)
            expect(
              lookups.some(
                (e) => e.table === table && e.target !== table && !isDeferred(e) && stageOf.get(e.target) === stage - 1,
              ),
            ).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('property: deterministic whatever the order of the input', () => {
    fc.assert(
      fc.property(
        graph.chain((g) =>
          fc.record({
            g: fc.constant(g),
            tables: fc.shuffledSubarray(g.tables, { minLength: g.tables.length }),
            lookups: fc.shuffledSubarray(g.lookups, { minLength: g.lookups.length }),
          }),
        ),
        ({ g, tables, lookups }) => {
          expect(orderPlan({ tables, lookups })).toEqual(orderPlan(g));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: with plan.json order, the stages follow it and every kept lookup points backwards', () => {
    fc.assert(
      fc.property(
        graph.chain((g) =>
          fc.record({ g: fc.constant(g), order: fc.shuffledSubarray(g.tables, { minLength: g.tables.length }) }),
        ),
        ({ g, order }) => {
          const planned = orderPlan({ ...g, order });
          expect(planned.stages).toEqual(order.map((t) => [t]));
          for (const e of g.lookups) {
            if (!order.includes(e.target)) continue;
            const kept = !planned.deferred.some(
              (d) => d.table === e.table && d.attribute === e.attribute && d.target === e.target,
            );
            if (kept) expect(order.indexOf(e.target)).toBeLessThan(order.indexOf(e.table));
          }
        },
      ),
    );
  });
});
