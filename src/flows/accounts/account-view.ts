/**
 * One account as a CSR answering the phone needs it (issue 21, point 1): billing's customer,
 * premise, standing and meters; the past-due state made here (notices, shut-off date, cut and
 * reconnect orders); each register's read history from billing and the reads made here (type,
 * codes, reader, method); AMI usage when the meter has intervals, with the same days last year;
 * open exceptions, work orders with their history, usage alerts, and the bill explainer.
 */

import { explainBill, type BillExplanation } from '../../core/bill-explainer.js';
import { addDays, localDate } from '../../core/local-time.js';
import { NotFoundError } from '../../errors.js';
import type { BillingAccount, BillingHistoryRead } from '../../infra/billing/billing.js';
import { meterChannels } from '../../infra/store/ami-repo.js';
import { exceptionsOfMeters, noticesOfAccount, readingsOfMeters } from '../../infra/store/accounts-repo.js';
import { alertsOfAccount } from '../../infra/store/usage-alerts-repo.js';
import { orderEvents, orderRowByNo } from '../../infra/store/work-orders-repo.js';
import { isoAt } from '../../core/vee/types.js';
import { registerUsage, type UsagePoint } from '../ami/usage.js';
import { listWorkOrders } from '../work-orders/work-orders.js';
import type { GatewayContext } from '../context.js';

type Ctx = Pick<GatewayContext, 'store' | 'billing' | 'config' | 'clock'>;

/** Days of AMI usage on the page (and the same days a year before). */
export const USAGE_DAYS = 90;
const HISTORY_YEARS = 2;

export interface RegisterView {
  registerNo: number;
  uom: string;
  lastReadValue: number;
  lastReadDate: string;
  /** Billing's reads, oldest first. */
  history: { readDate: string; readValue: number; readType: string; estimated: boolean; consumption: number }[];
  /** Reads made through fieldgate, newest first. */
  reads: {
    readAt: string | null;
    reading: number | null;
    consumption: number | null;
    status: string;
    readType: string;
    method: string | null;
    readerId: string | null;
    readCode: string | null;
    skipCode: string | null;
    troubleCode: string | null;
    source: string | null;
    route: string | null;
    note: string | null;
  }[];
  /** Daily AMI usage for the last USAGE_DAYS and the same days a year before; null without intervals. */
  usage: { channel: number; from: string; to: string; days: UsagePoint[]; lastYear: UsagePoint[] } | null;
  explainer: BillExplanation | null;
}

export async function accountView(ctx: Ctx, accountNo: string) {
  const account = await ctx.billing.account(accountNo);
  if (!account) throw new NotFoundError('account', accountNo);
  const db = ctx.store.db;
  const now = ctx.clock();
  const zone = ctx.config.timeZone;
  const today = localDate(now, zone);
  const meterIds = account.meters.map((m) => m.meterId);
  const [history, reads, notices, exceptions, orders, alerts] = await Promise.all([
    ctx.billing.readHistory(meterIds, addDays(today, -366 * HISTORY_YEARS)),
    readingsOfMeters(db, meterIds, 200),
    noticesOfAccount(db, accountNo),
    exceptionsOfMeters(db, meterIds, 100),
    listWorkOrders(db, { accountNo, limit: 50 }, zone, now),
    alertsOfAccount(db, accountNo, addDays(today, -90)),
  ]);
  const meters = [];
  for (const meter of account.meters) {
    const registers: RegisterView[] = [];
    const channels = await meterChannels(db, meter.meterId);
    for (const reg of meter.registers) {
      const own = history.filter((h) => h.meterId === meter.meterId && h.registerNo === reg.registerNo);
      const here = reads.filter((r) => r.meter_id === meter.meterId && Number(r.register) === reg.registerNo);
      const usage = channels.includes(reg.registerNo)
        ? await usageWithLastYear(ctx, meter.meterId, reg.registerNo, today)
        : null;
      registers.push({
        ...reg,
        history: own.map((h) => ({ ...withoutKeys(h), estimated: isEstimated(ctx, h) })),
        reads: here.map((r) => ({
          readAt: r.read_at,
          reading: r.reading === null ? null : Number(r.reading),
          consumption: r.consumption === null ? null : Number(r.consumption),
          status: r.status,
          readType: r.read_type,
          method: r.method,
          readerId: r.reader_id,
          readCode: r.read_code,
          skipCode: r.skip_code,
          troubleCode: r.trouble_code,
          source: r.source,
          route: r.route_code,
          note: r.note,
        })),
        usage,
        explainer: explain(ctx, account, meter, reg, own, here, usage),
      });
    }
    meters.push({ ...meter, registers });
  }
  const ordersWithHistory = [];
  for (const o of orders) {
    const row = await orderRowByNo(db, o.orderNo);
    ordersWithHistory.push({ ...o, history: row ? await orderEvents(db, row.id) : [] });
  }
  return {
    account: { ...account, meters: undefined },
    pastDue: pastDueState(account, notices, today),
    notices,
    meters,
    exceptions,
    workOrders: ordersWithHistory,
    alerts: alerts.map((a) => ({
      id: a.id,
      meterId: a.meter_id,
      rule: a.rule,
      since: isoAt(a.since_at),
      message: a.message,
      measured: a.measured,
      open: a.cleared_at === null,
      openedAt: a.opened_at,
      clearedAt: a.cleared_at,
    })),
  };
}

function withoutKeys(h: BillingHistoryRead) {
  return { readDate: h.readDate, readValue: h.readValue, readType: h.readType, consumption: h.consumption };
}

const isEstimated = (ctx: Ctx, h: { readType: string }) =>
  h.readType === ctx.config.billing.mapping.values.readTypeEstimated;

function explain(
  ctx: Ctx,
  account: BillingAccount,
  meter: BillingAccount['meters'][number],
  reg: BillingAccount['meters'][number]['registers'][number],
  history: readonly BillingHistoryRead[],
  here: readonly { reading: number | null; read_at: string | null; status: string; read_type: string }[],
  usage: RegisterView['usage'],
): BillExplanation | null {
  const zone = ctx.config.timeZone;
  const latest = here.find((r) => r.reading !== null && r.read_at !== null && r.status !== 'skipped');
  return explainBill({
    unit: reg.uom,
    dials: meter.dials,
    multiplier: meter.multiplier,
    history: history.map((h) => ({ readDate: h.readDate, consumption: h.consumption, estimated: isEstimated(ctx, h) })),
    lastBilled: { value: reg.lastReadValue, date: reg.lastReadDate },
    current: latest
      ? {
          value: Number(latest.reading),
          date: localDate(new Date(latest.read_at!), zone),
          estimated: latest.read_type === 'estimated',
        }
      : null,
    rate: account.rate,
    soFar: soFarOf(usage, reg.lastReadDate, meter.multiplier),
  });
}

/**
 * AMI use on the days after the last billed read (whole days; today, still being read, is left
 * out), in units on the dials as billing's periods are: intervals carry the multiplier.
 */
function soFarOf(usage: RegisterView['usage'], lastBilled: string, multiplier: number) {
  if (!usage) return null;
  const days = usage.days.filter((d) => d.at > lastBilled && d.at < usage.to);
  if (days.length === 0) return null;
  return {
    units: days.reduce((sum, d) => sum + d.value, 0) / (multiplier || 1),
    days: days.length,
    to: days[days.length - 1]!.at,
  };
}

async function usageWithLastYear(ctx: Ctx, meterId: string, channel: number, today: string) {
  const db = ctx.store.db;
  const zone = ctx.config.timeZone;
  const from = addDays(today, -USAGE_DAYS);
  const days = await registerUsage(db, meterId, channel, { from, to: today, zone }, 'day');
  const lastYear = await registerUsage(
    db,
    meterId,
    channel,
    { from: addDays(from, -364), to: addDays(today, -364), zone },
    'day',
  );
  return { channel, from, to: today, days: days.points, lastYear: lastYear.points };
}

/** Where the account stands: current, past due, noticed (with its shut-off date), cut. */
function pastDueState(
  account: BillingAccount,
  notices: readonly {
    status: string;
    shut_off_date: string;
    cut_order_no: string | null;
    reconnect_order_no: string | null;
  }[],
  today: string,
) {
  const open = notices.find((n) => ['noticed', 'cut_ordered', 'cut'].includes(n.status));
  const pastDue = account.balanceDue > 0 && account.dueDate !== null && account.dueDate < today;
  return {
    state: open ? open.status : pastDue ? 'past_due' : account.balanceDue > 0 ? 'balance_due' : 'paid',
    pastDue,
    shutOffDate: open?.shut_off_date ?? null,
    cutOrderNo: open?.cut_order_no ?? null,
    reconnectOrderNo: notices.find((n) => n.reconnect_order_no)?.reconnect_order_no ?? null,
    arrangementUntil: account.arrangementUntil,
  };
}
