import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../src/flows/context.js';
import { runPastDue } from '../../src/flows/work-orders/past-due.js';
import {
  findWorkOrder,
  moveWorkOrder,
  TECH_ORDER_NOTICE,
  type TechOrderNotice,
} from '../../src/flows/work-orders/work-orders.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Past due to cut-off over simulated days (the clock is the test's): notice → shut-off date past
 * a weekend and a holiday → cut order → payment → cancelled in the field; a payment before the
 * date → no cut; a cut account that pays → reconnect.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('past due to cut-off on $name', (dialect) => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let now = new Date('2026-11-20T14:00:00Z'); // Friday, 8 a.m. in Chicago
  const day = (iso: string) => (now = new Date(`${iso}T15:00:00Z`));
  const accounts: string[] = [];
  const pay = (account: string) =>
    ctx.billing.db('cis_accounts').where({ account_no: account }).update({ balance_due: 0 });
  const notice = (account: string) =>
    ctx.store.db('disconnect_notices').where({ account_no: account }).first() as Promise<{
      status: string;
      shut_off_date: string;
      cut_order_no: string | null;
      reconnect_order_no: string | null;
      warning_order_no: string | null;
    }>;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'pastdue', accounts: 120, routes: 2, clock: () => now });
    ctx = {
      ...gw.ctx,
      config: {
        ...gw.ctx.config,
        dataDir: mkdtempSync(path.join(tmpdir(), 'fg-pastdue-')),
        pastDue: {
          daysPastDue: 15,
          minBalance: 25,
          noticeDays: 8,
          holidays: ['2026-11-26', '2026-11-30'],
          warningOrders: true,
          cutPriority: 2,
        },
      },
    };
    // Only three accounts owe: A and C will be cut, B pays before the date.
    await ctx.billing.db('cis_accounts').update({ balance_due: 0, due_date: null });
    const rows = (await ctx.billing
      .db('cis_meters')
      .where({ status: 'A' })
      .whereNotNull('account_no')
      .orderBy('meter_id')
      .limit(3)) as { account_no: string }[];
    accounts.push(...rows.map((r) => r.account_no));
    await ctx.billing
      .db('cis_accounts')
      .whereIn('account_no', accounts)
      .update({ balance_due: 180.5, due_date: '2026-10-30', status: 'A' });
  });
  afterAll(async () => gw?.close());

  it(
    'sends notices with a shut-off date past the weekend and the holiday, once, with the mail-house ' + 'batch',
    async () => {
      expect(await runPastDue(ctx)).toMatchObject({ noticed: 3 });
      expect(await runPastDue(ctx)).toMatchObject({ noticed: 0 });
      const [a] = accounts;
      expect(await notice(a!)).toMatchObject({ status: 'noticed', shut_off_date: '2026-12-01' });
      const warning = await findWorkOrder(ctx.store.db, (await notice(a!)).warning_order_no!, ctx.config.timeZone, now);
      expect(warning).toMatchObject({ type: 'DisconnectWarning', dueDate: '2026-11-30', state: 'created' });
      const dir = path.resolve(ctx.config.dataDir, 'notices', '2026-11-20');
      const csv = readFileSync(path.join(dir, 'mail-house.csv'), 'utf8').trim().split('\r\n');
      expect(csv[0]).toBe('account_no,customer_name,address,city,balance_due,due_date,notice_date,shut_off_date');
      expect(csv).toHaveLength(4);
      expect(csv[1]).toMatch(new RegExp(`^"${a}",".+",".+",".+","180.50","2026-10-30","2026-11-20","2026-12-01"$`));
      expect(readFileSync(path.join(dir, `notice-${a}.html`), 'utf8')).toContain(
        'disconnected on or after <span class="due">2026-12-01</span>',
      );
    },
  );

  it('cuts nobody before the date; a payment before it settles the notice with no cut order', async () => {
    const [, b] = accounts;
    day('2026-11-23');
    await pay(b!);
    expect(await runPastDue(ctx)).toMatchObject({ paid: 1, cutOrdered: 0 });
    day('2026-11-28'); // Saturday: the date has not come
    expect(await runPastDue(ctx)).toMatchObject({ cutOrdered: 0 });
    day('2026-11-30'); // the holiday
    expect(await runPastDue(ctx)).toMatchObject({ cutOrdered: 0 });
    expect(await notice(b!)).toMatchObject({ status: 'paid', cut_order_no: null });
  });

  it('orders the cut on the shut-off date; a payment after dispatch cancels it in the field', async () => {
    const [a, b, c] = accounts;
    day('2026-12-01');
    expect(await runPastDue(ctx)).toMatchObject({ cutOrdered: 2 });
    expect((await notice(b!)).cut_order_no).toBeNull();
    const cutA = (await notice(a!)).cut_order_no!;
    expect(await findWorkOrder(ctx.store.db, cutA, ctx.config.timeZone, now)).toMatchObject({
      type: 'CutForNonPayment',
      priority: 2,
      dueDate: '2026-12-01',
      accountNo: a,
    });
    await moveWorkOrder(
      ctx.store.db,
      ctx.config,
      cutA,
      { to: 'dispatched', version: 1, technician: 'tom' },
      { role: 'csr', name: 'maria' },
      now,
    );
    await moveWorkOrder(
      ctx.store.db,
      ctx.config,
      cutA,
      { to: 'accepted', version: 2 },
      { role: 'tech', name: 'tom' },
      now,
    );
    await pay(a!);
    expect(await runPastDue(ctx)).toMatchObject({ cancelledInField: 1, paid: 1 });
    const cancelled = await findWorkOrder(ctx.store.db, cutA, ctx.config.timeZone, now);
    expect(cancelled).toMatchObject({ state: 'cancelled', version: 4 });
    const event = (await ctx.store
      .db('work_order_events')
      .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
      .where({ order_no: cutA, to_state: 'cancelled' })
      .first()) as { actor: string; detail: string };
    expect(event.actor).toBe('system:past-due');
    expect(JSON.parse(event.detail)).toMatchObject({ reason: 'account paid' });
    // The technician's tablet is told: the order, cancelled, is queued for tom's tablet.
    const told = await ctx.store
      .db('outbox')
      .where({ kind: TECH_ORDER_NOTICE })
      .andWhere('key', 'like', `tech-order:${cutA}:4:%`);
    expect(told.map((t) => JSON.parse(t.payload) as TechOrderNotice)).toMatchObject([
      { technician: 'tom', order: { state: 'cancelled' } },
    ]);
    expect((await notice(c!)).status).toBe('cut_ordered');
  });

  it('orders a reconnect when a cut account pays', async () => {
    const [, , c] = accounts;
    const cutC = (await notice(c!)).cut_order_no!;
    const tech = { role: 'tech' as const, name: 'ann' };
    await moveWorkOrder(
      ctx.store.db,
      ctx.config,
      cutC,
      { to: 'dispatched', version: 1, technician: 'ann' },
      { role: 'csr', name: 'maria' },
      now,
    );
    for (const [v, to] of [
      [2, 'accepted'],
      [3, 'on_site'],
    ] as const)
      await moveWorkOrder(ctx.store.db, ctx.config, cutC, { to, version: v }, tech, now);
    await moveWorkOrder(
      ctx.store.db,
      ctx.config,
      cutC,
      {
        to: 'completed',
        version: 4,
        completion: { outcome: 'COMPLETED', completedAt: now.toISOString(), finalRead: 40_001, seals: ['L-77'] },
      },
      tech,
      now,
    );
    day('2026-12-02');
    expect(await runPastDue(ctx)).toMatchObject({ reconnects: 0 });
    expect((await notice(c!)).status).toBe('cut');
    await pay(c!);
    expect(await runPastDue(ctx)).toMatchObject({ reconnects: 1 });
    const reconnect = await findWorkOrder(
      ctx.store.db,
      (await notice(c!)).reconnect_order_no!,
      ctx.config.timeZone,
      now,
    );
    expect(reconnect).toMatchObject({ type: 'Reconnect', priority: 1, accountNo: c, state: 'created' });
    expect(existsSync(path.resolve(ctx.config.dataDir, 'notices', '2026-12-02'))).toBe(false);
  });
});

/**
 * Past-due in sets at a volume where account-by-account work shows: 500 accounts past due at once
 * each get one notice and one door hanger (numbers drawn free of each other and of the store), the
 * notices name their orders, the mail house's CSV lists them all, and a second pass the same day
 * adds nothing. Then half pay before the shut-off date and the other half are cut on it.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('past due in sets on $name', (dialect) => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let now = new Date('2026-11-20T14:00:00Z');

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'pastdue_sets', accounts: 600, routes: 4, clock: () => now });
    ctx = {
      ...gw.ctx,
      config: {
        ...gw.ctx.config,
        dataDir: mkdtempSync(path.join(tmpdir(), 'fg-pastdue-sets-')),
        pastDue: {
          ...gw.ctx.config.pastDue,
          daysPastDue: 15,
          minBalance: 25,
          noticeDays: 8,
          holidays: [],
          warningOrders: true,
        },
      },
    };
    const owing = (await ctx.billing.db('cis_accounts').orderBy('account_no').limit(500)).map(
      (a: { account_no: string }) => a.account_no,
    );
    await ctx.billing.db('cis_accounts').update({ balance_due: 0, due_date: null });
    await ctx.billing
      .db('cis_accounts')
      .whereIn('account_no', owing)
      .update({ balance_due: 99.5, due_date: '2026-10-30', status: 'A' });
  }, 60_000);
  afterAll(async () => gw?.close());

  it('notices every account past due once, with a door hanger each, and cuts the unpaid on the date', async () => {
    const db = ctx.store.db;
    expect(await runPastDue(ctx)).toMatchObject({ noticed: 500, cutOrdered: 0 });
    const notices = (await db('disconnect_notices').orderBy('account_no')) as {
      id: number;
      account_no: string;
      warning_order_no: string;
      shut_off_date: string;
    }[];
    expect(notices).toHaveLength(500);
    expect(new Set(notices.map((n) => n.account_no)).size).toBe(500);
    const warnings = await db('work_orders').where({ type: 'DisconnectWarning' });
    expect(warnings).toHaveLength(500);
    expect(new Set(notices.map((n) => n.warning_order_no))).toEqual(new Set(warnings.map((w) => w.order_no)));
    for (const w of warnings.slice(0, 20)) {
      const n = notices.find((x) => x.warning_order_no === w.order_no)!;
      expect(w).toMatchObject({ account_no: n.account_no, state: 'created', source: 'past-due', priority: 4 });
      expect(w.meter_id).toMatch(/\S/);
    }
    // Each order has its first event.
    const events = await db('work_order_events').whereIn(
      'order_id',
      warnings.map((w) => w.id),
    );
    expect(events.map((e) => e.to_state)).toEqual(Array(500).fill('created'));
    const csv = readFileSync(path.join(ctx.config.dataDir, 'notices', '2026-11-20', 'mail-house.csv'), 'utf8');
    expect(csv.trim().split('\r\n')).toHaveLength(501);
    // The same day again: nothing new.
    expect(await runPastDue(ctx)).toMatchObject({ noticed: 0, cutOrdered: 0 });
    expect(Number((await db('work_orders').count({ n: '*' }).first())!.n)).toBe(500);

    // Half pay; on the shut-off date the other half get a cut order each, with the account's meter and route.
    const paid = notices.filter((_, i) => i % 2 === 0).map((n) => n.account_no);
    await ctx.billing.db('cis_accounts').whereIn('account_no', paid).update({ balance_due: 0 });
    now = new Date(`${notices[0]!.shut_off_date}T15:00:00Z`);
    expect(await runPastDue(ctx)).toMatchObject({ paid: 250, cutOrdered: 250, noticed: 0 });
    const cutOrders = await db('work_orders').where({ type: 'CutForNonPayment' });
    expect(cutOrders).toHaveLength(250);
    const after = (await db('disconnect_notices').select('account_no', 'status', 'cut_order_no')) as {
      account_no: string;
      status: string;
      cut_order_no: string | null;
    }[];
    const paidSet = new Set(paid);
    for (const n of after)
      if (paidSet.has(n.account_no)) expect(n).toMatchObject({ status: 'paid', cut_order_no: null });
      else expect(n.status).toBe('cut_ordered');
    const routes = await ctx.billing.accountsMeters(cutOrders.map((o) => String(o.account_no)));
    for (const o of cutOrders)
      expect({ meter: o.meter_id, area: o.area }).toEqual({
        meter: routes.get(String(o.account_no))![0]!.meterId,
        area: routes.get(String(o.account_no))![0]!.routeCode,
      });
  }, 60_000);
});
