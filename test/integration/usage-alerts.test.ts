import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsage, type DemoUsagePlan } from '../../src/flows/ami/demo-usage.js';
import { checkUsageAlerts } from '../../src/flows/ami/usage-alerts.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Usage alerts end to end on each store: the demo's usage (a few leaking water meters, a stopped
 * one, a high-use account) goes in as an AMI batch; the usage-alerts job opens one alert per
 * condition with its CSR exception (and, where the rule says, an Investigation order), keeps it
 * on the next run without a second exception, and clears it, resolving the exception, once the
 * data no longer shows the condition.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('usage alerts on $name', (dialect) => {
  let gw: TestGateway;
  let plan: DemoUsagePlan[];
  const story = (s: DemoUsagePlan['story']) => plan.filter((p) => p.story === s).map((p) => p.meterId);

  beforeAll(async () => {
    gw = await testGateway(dialect, {
      label: 'alerts',
      accounts: 200,
      routes: 2,
      config: { alerts: { nightFlow: { workOrder: true } } },
    });
    plan = (await seedDemoUsage({ ...gw.ctx, db: gw.ctx.store.db }, { meters: 20, days: 45, seed: 7 })).plan;
  }, 60_000);
  afterAll(async () => gw?.close());

  it('opens an alert, an exception and the orders its rules ask for, for each condition in the data', async () => {
    const first = await checkUsageAlerts(gw.ctx, { now: NOW });
    expect(first.registers).toBe(20);
    const db = gw.ctx.store.db;
    const alerts = await db('usage_alerts').select('meter_id', 'rule', 'message', 'exception_id', 'work_order_id');
    const byRule = (rule: string) =>
      alerts
        .filter((a) => a.rule === rule)
        .map((a) => a.meter_id)
        .sort();
    expect(byRule('continuous-flow')).toEqual(story('leak').sort());
    expect(byRule('night-flow')).toEqual(story('leak').sort());
    expect(byRule('stopped-meter')).toEqual(story('stopped'));
    expect(byRule('high-usage')).toEqual(story('high-use'));
    // Nothing else: the normal houses have dry nights and no alert.
    expect(alerts).toHaveLength(2 * 3 + 2);
    expect(first.opened).toBe(alerts.length);
    for (const a of alerts) expect(a.exception_id).not.toBeNull();
    // nightFlow.workOrder is on here: one Investigation order per leaking meter, naming the leak.
    const orders = await db('work_orders').where({ type: 'Investigation', source: 'usage-alerts' });
    expect(orders.map((o) => o.meter_id).sort()).toEqual(story('leak').sort());
    expect(orders[0]!.notes).toMatch(/^Usage alert: at least [\d.]+ gal an hour ran every hour between 1 am and 5 am/);
    const exceptions = await db('exceptions').where({ source: 'usage-alerts', status: 'open' });
    expect(exceptions).toHaveLength(alerts.length);
    const leak = exceptions.find((x) => x.kind === 'ALERT_CONTINUOUS_FLOW')!;
    expect(leak.message).toMatch(
      /^water has run for \d+ hours without a break: check for a leak \(meter W\d+, account /,
    );
  });

  it('keeps an alert that is still seen, with no second exception or order', async () => {
    const again = await checkUsageAlerts(gw.ctx, { now: new Date(NOW.getTime() + 3_600_000) });
    expect(again).toMatchObject({ opened: 0, cleared: 0, kept: 8 });
    const count = async (table: string) =>
      Number(
        ((await gw.ctx.store.db(table).where({ source: 'usage-alerts' }).count({ n: '*' }).first()) as { n: number }).n,
      );
    expect(await count('exceptions')).toBe(8);
    expect(await count('work_orders')).toBe(3);
  });

  it('clears the alert and resolves its exception once the leak is fixed', async () => {
    const db = gw.ctx.store.db;
    const [fixed] = story('leak');
    // The plumber came: the last day's intervals of one leaking meter are dry at night.
    const lastDay = Math.floor(NOW.getTime() / 1000 / 3600) * 3600 - 86_400;
    await db('ami_intervals').where({ meter_id: fixed }).andWhere('start_at', '>=', lastDay).update({ value: 0 });
    const run = await checkUsageAlerts(gw.ctx, { now: new Date(NOW.getTime() + 7_200_000), meterIds: [fixed!] });
    // Both of its alerts: the water stopped, and the last night was dry.
    expect(run).toMatchObject({ registers: 1, cleared: 2, opened: 0 });
    const rows = await db('usage_alerts').where({ meter_id: fixed });
    expect(rows.find((r) => r.rule === 'continuous-flow')!.cleared_at).not.toBeNull();
    const resolved = await db('exceptions')
      .where({ id: rows.find((r) => r.rule === 'continuous-flow')!.exception_id! })
      .first();
    expect(resolved).toMatchObject({ status: 'resolved', resolved_by: 'system' });
    expect(resolved!.resolution).toBe('the condition is no longer seen in the meter data');
    // Its Investigation order was not dispatched yet: called off, with the reason in its history.
    const order = await db('work_orders')
      .where({ id: rows.find((r) => r.rule === 'night-flow')!.work_order_id! })
      .first();
    expect(order).toMatchObject({ state: 'cancelled', meter_id: fixed });
  });
});
