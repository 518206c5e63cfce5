import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJob } from '../../jobs/index.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Work orders over REST on each store: an order entered in billing is pulled, dispatched,
 * worked by its technician and posted to billing once; bad input is refused naming the field
 * with nothing changed; two devices changing one order: one wins, the other gets the order as
 * it is now.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('work orders over REST on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let csr: string;
  let tom: string;
  let ann: string;
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const job = (name: string) => runJob(gw.ctx, findJob(name)!, { trigger: 'manual' });

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'wo', accounts: 200, routes: 2 });
    const meter = (await gw.ctx.billing.db('cis_meters').where({ meter_id: 'E0000003' }).first()) as {
      account_no: string;
    };
    await gw.ctx.billing.db('cis_service_orders').insert({
      order_no: 'SO900001',
      account_no: meter.account_no,
      meter_id: 'E0000003',
      order_type: 'TURN_OFF',
      status: 'OPEN',
      created_at: new Date('2026-11-20T15:00:00Z'),
      due_date: '2026-11-25',
      notes: 'Customer moving out',
    });
    api = await startApi(gw.ctx);
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
    tom = await createToken(gw.ctx.store.db, 'tom', 'tech', gw.ctx.clock());
    ann = await createToken(gw.ctx.store.db, 'ann', 'tech', gw.ctx.clock());
  });
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  it('pulls a billing order once, dispatches it, and the technician works it to billing exactly once', async () => {
    await job('pull-service-orders');
    await job('pull-service-orders');
    const so = await call(csr, 'GET', '/api/work-orders/SO900001');
    expect(so.status).toBe(200);
    expect(so.body).toMatchObject({
      orderNo: 'SO900001',
      source: 'billing',
      type: 'TurnOff',
      state: 'created',
      version: 1,
      meterId: 'E0000003',
      area: expect.stringMatching(/^R0/),
      dueDate: '2026-11-25',
      notes: 'Customer moving out',
    });
    expect(
      await gw.ctx.store.db('work_orders').where({ order_no: 'SO900001' }).count({ n: '*' }).first(),
    ).toMatchObject({ n: 1 });

    expect(
      (await call(csr, 'POST', '/api/work-orders/SO900001/dispatch', { version: 1, technician: 'tom' })).body,
    ).toMatchObject({ state: 'dispatched', version: 2, technician: 'tom' });
    const mine = await call(tom, 'GET', '/api/tech/orders');
    expect(mine.body.items.map((o: { orderNo: string }) => o.orderNo)).toEqual(['SO900001']);
    expect((await call(ann, 'GET', '/api/tech/orders')).body.items).toEqual([]);

    // Worked offline: the device sends its steps later, each on the version it had, with field times.
    const steps = [
      { version: 2, state: 'accepted', at: '2026-11-23T14:00:00Z' },
      { version: 3, state: 'en_route', at: '2026-11-23T14:05:00Z', gps: { lat: 41.6, lon: -93.6 } },
      { version: 4, state: 'on_site', at: '2026-11-23T14:20:00Z' },
      {
        version: 5,
        state: 'completed',
        at: '2026-11-23T14:31:00Z',
        completion: {
          outcome: 'COMPLETED',
          completedAt: '2026-11-23T14:31:00Z',
          finalRead: 32611,
          seals: ['S-1001'],
          notes: 'Off at the meter',
          photos: ['photos/SO900001-1.jpg'],
        },
      },
    ];
    for (const step of steps) expect((await call(tom, 'POST', '/api/tech/orders/SO900001', step)).status).toBe(200);
    const done = await call(csr, 'GET', '/api/work-orders/SO900001');
    expect(done.body).toMatchObject({
      state: 'completed',
      version: 6,
      completion: { outcome: 'COMPLETED', finalRead: 32611 },
    });
    const events = (await gw.ctx.store
      .db('work_order_events')
      .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
      .where({ order_no: 'SO900001' })
      .orderBy('work_order_events.id')) as { to_state: string; actor: string; at: string }[];
    expect(events.map((e) => [e.to_state, e.actor])).toEqual([
      ['created', 'system:pull-service-orders'],
      ['dispatched', 'csr:maria'],
      ['accepted', 'tech:tom'],
      ['en_route', 'tech:tom'],
      ['on_site', 'tech:tom'],
      ['completed', 'tech:tom'],
    ]);
    expect(String(events[3]!.at)).toContain('2026-11-23T14:05');

    const first = await job('post-field-work');
    const again = await job('post-field-work');
    expect([first.status, again.status]).toEqual(['ok', 'ok']);
    expect(first.counts).toMatchObject({ posted: 1 });
    expect(again.counts).toMatchObject({ posted: 0 });
    const rows = (await gw.ctx.billing.db('cis_fieldwork_upload').where({ order_no: 'SO900001' })) as {
      outcome: string;
      technician: string;
      final_read: number;
      completion_key: string;
    }[];
    expect(rows.map((r) => [r.completion_key, r.outcome, r.technician, Number(r.final_read)])).toEqual([
      ['WO:SO900001', 'COMPLETED', 'tom', 32611],
    ]);
    // A turn-off's final read goes to billing as a read too, marked final.
    await job('post-readings');
    const read = (await gw.ctx.billing.db('cis_read_upload').where({ read_key: 'WO:SO900001:FINAL' })) as {
      read_value: number;
      read_code: string;
      read_source: string;
    }[];
    expect(read.map((r) => [Number(r.read_value), r.read_code, r.read_source])).toEqual([[32611, 'FN', 'FIELD']]);
  });

  it(
    'refuses an unknown order, a completion without its required field and a forbidden jump, naming the field, ' +
      'changing nothing',
    async () => {
      const unknown = await call(tom, 'POST', '/api/tech/orders/NOPE', { version: 1, state: 'accepted' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({
        code: 'NOT_FOUND',
        field: 'orderNo',
        message: "order 'NOPE' not found",
      });

      const created = (
        await call(csr, 'POST', '/api/work-orders', {
          type: 'ExchangeMeter',
          meterId: 'E0000004',
          dueDate: '2026-11-20',
        })
      ).body;
      expect(created).toMatchObject({
        state: 'created',
        version: 1,
        source: 'csr',
        overdue: true,
        orderNo: expect.stringMatching(/^WO\d{6}[0-9A-Z]{4}$/),
      });
      const jump = await call(csr, 'POST', `/api/work-orders/${created.orderNo}/cancel`, { version: 1, reason: '' });
      expect(jump.status).toBe(400);
      expect(jump.body.error.field).toBe('reason');
      await call(csr, 'POST', `/api/work-orders/${created.orderNo}/dispatch`, { version: 1, technician: 'tom' });
      const skip = await call(tom, 'POST', `/api/tech/orders/${created.orderNo}`, {
        version: 2,
        state: 'completed',
        completion: { outcome: 'COMPLETED', completedAt: '2026-11-23T15:00:00Z', finalRead: 1 },
      });
      expect(skip.status).toBe(409);
      expect(skip.body.error).toMatchObject({ code: 'BAD_STATE', field: 'state' });
      expect(skip.body.error.message).toBe(
        `order ${created.orderNo} cannot go from dispatched to completed: from dispatched it can go to accepted`,
      );
      for (const [v, state] of [
        [2, 'accepted'],
        [3, 'on_site'],
      ] as const)
        await call(tom, 'POST', `/api/tech/orders/${created.orderNo}`, { version: v, state });
      const missing = await call(tom, 'POST', `/api/tech/orders/${created.orderNo}`, {
        version: 4,
        state: 'completed',
        completion: {
          outcome: 'COMPLETED',
          completedAt: '2026-11-23T15:00:00Z',
          finalRead: 70711,
          newMeterSerial: 'LG12345678',
        },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({
        field: 'newMeterRead',
        message: 'a completed ExchangeMeter needs newMeterRead',
      });
      const notTheirs = await call(ann, 'POST', `/api/tech/orders/${created.orderNo}`, {
        version: 4,
        state: 'failed',
        completion: { outcome: 'OTHER', completedAt: '2026-11-23T15:00:00Z', reason: 'dog' },
      });
      // Not theirs is answered as not there (security finding 8): a stranger learns nothing of the order.
      expect(notTheirs.status).toBe(404);
      expect(notTheirs.body.error).toMatchObject({ code: 'NOT_FOUND', field: 'orderNo' });
      const after = (await call(csr, 'GET', `/api/work-orders/${created.orderNo}`)).body;
      expect(after).toMatchObject({ state: 'on_site', version: 4, completion: null });
      const exchanged = await call(tom, 'POST', `/api/tech/orders/${created.orderNo}`, {
        version: 4,
        state: 'completed',
        completion: {
          outcome: 'COMPLETED',
          completedAt: '2026-11-23T15:00:00Z',
          finalRead: 70711,
          newMeterSerial: 'LG12345678',
          newMeterRead: 3,
        },
      });
      expect(exchanged.body).toMatchObject({ state: 'completed', version: 5 });
      expect((await job('post-field-work')).status).toBe('ok');
      const row = (await gw.ctx.billing.db('cis_fieldwork_upload').where({ order_no: created.orderNo }).first()) as {
        final_read: number;
        new_meter_serial: string;
        new_meter_read: number;
      };
      expect([Number(row.final_read), row.new_meter_serial, Number(row.new_meter_read)]).toEqual([
        70711,
        'LG12345678',
        3,
      ]);
    },
  );

  it('lets one of two devices win a race on the same version; the other gets the order as it is now', async () => {
    const o = (await call(csr, 'POST', '/api/work-orders', { type: 'Investigation', meterId: 'E0000011' })).body;
    await call(csr, 'POST', `/api/work-orders/${o.orderNo}/dispatch`, { version: 1, technician: 'tom' });
    const [a, b] = await Promise.all([
      call(tom, 'POST', `/api/tech/orders/${o.orderNo}`, { version: 2, state: 'accepted', note: 'tablet' }),
      call(tom, 'POST', `/api/tech/orders/${o.orderNo}`, { version: 2, state: 'accepted', note: 'phone' }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error).toMatchObject({ code: 'STALE_VERSION', field: 'version' });
    expect(loser.body.current).toMatchObject({ orderNo: o.orderNo, state: 'accepted', version: 3 });
    const events = await gw.ctx.store
      .db('work_order_events')
      .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
      .where({ order_no: o.orderNo, to_state: 'accepted' })
      .count({ n: '*' })
      .first();
    expect(Number((events as { n: number }).n)).toBe(1);
  });

  it("answers the field app's move sent again after a lost answer (same updateId) with the order, and applies it once", async () => {
    const o = (await call(csr, 'POST', '/api/work-orders', { type: 'Investigation', meterId: 'E0000012' })).body;
    await call(csr, 'POST', `/api/work-orders/${o.orderNo}/dispatch`, { version: 1, technician: 'tom' });
    const move = { version: 2, state: 'accepted', at: '2026-11-23T15:01:00Z', updateId: 'app-7f3a' };
    const first = await call(tom, 'POST', `/api/tech/orders/${o.orderNo}`, move);
    const again = await call(tom, 'POST', `/api/tech/orders/${o.orderNo}`, move);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body).toMatchObject({ state: 'accepted', version: 3 });
    // Without the id, the same body is a stale change.
    const { updateId: _id, ...plain } = move;
    expect((await call(tom, 'POST', `/api/tech/orders/${o.orderNo}`, plain)).status).toBe(409);
    const accepted = await gw.ctx.store
      .db('work_order_events')
      .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
      .where({ order_no: o.orderNo, to_state: 'accepted' })
      .count({ n: '*' })
      .first();
    expect(Number((accepted as { n: number }).n)).toBe(1);
  });

  it('sends someone to read again from an exception, once', async () => {
    const [id] = (await gw.ctx.store
      .db('exceptions')
      .insert({
        source: 'file',
        kind: 'HIGH_READ',
        severity: 'hold',
        meter_id: 'E0000011',
        field: 'reading',
        value: '99999',
        message: '2,400 units, above the high limit 900',
        status: 'open',
        created_at: NOW.toISOString(),
      })
      .returning('id')) as ({ id: number } | number)[];
    const exceptionId = typeof id === 'object' ? id.id : id!;
    const made = await call(csr, 'POST', `/api/exceptions/${exceptionId}/reread`, {
      note: 'customer says the house was empty',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      type: 'ReRead',
      source: 'exception',
      meterId: 'E0000011',
      state: 'created',
      dueDate: '2026-11-25',
      notes: 'HIGH_READ: customer says the house was empty',
    });
    const ex = (await gw.ctx.store.db('exceptions').where({ id: exceptionId }).first()) as {
      status: string;
      resolution: string;
      resolved_by: string;
    };
    expect(ex).toMatchObject({
      status: 'resolved',
      resolution: `re-read ordered: ${made.body.orderNo}`,
      resolved_by: 'csr:maria',
    });
    const again = await call(csr, 'POST', `/api/exceptions/${exceptionId}/reread`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.field).toBe('status');
    expect((await call(csr, 'POST', '/api/exceptions/999999/reread', {})).status).toBe(404);
  });

  it('shows CSRs the dispatch board with overdue orders flagged', async () => {
    const board = (await call(csr, 'GET', '/api/work-orders/dispatch')).body;
    expect(board.open).toBeGreaterThanOrEqual(1);
    expect(board.byState.accepted).toBeGreaterThanOrEqual(1);
    expect(board.byTechnician.tom).toBeGreaterThanOrEqual(1);
    expect(Object.keys(board.byAge).length).toBeGreaterThanOrEqual(1);
    for (const o of board.overdue) expect(o.dueDate < NOW.toISOString().slice(0, 10)).toBe(true);
    expect((await call(tom, 'GET', '/api/work-orders/dispatch')).status).toBe(403);
  });
});
