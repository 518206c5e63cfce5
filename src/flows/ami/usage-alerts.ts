/**
 * The usage-alerts job: every register heard from recently is checked against the alert rules
 * (src/core/usage-alerts.ts). A condition newly seen opens an alert, and as its rule says a CSR
 * exception and an Investigation work order; one still seen is kept up to date; one no longer
 * seen is cleared and its exception resolved. The alerts are what the account page and the
 * customer's portal show.
 */

import { RULE_SETTING, usageAlerts, type AlertSettings, type UsageAlert } from '../../core/usage-alerts.js';
import { BillingMeterLookup } from './meter-directory.js';
import { meterChannels, registerIntervals, registerReadsBetween } from '../../infra/store/ami-repo.js';
import { claimsList } from '../../infra/store/suspense-repo.js';
import { recordExceptionReturningId, resolveOpenExceptions } from '../../infra/store/exceptions-repo.js';
import {
  clearAlert,
  insertAlert,
  markAlertSeen,
  metersHeardSince,
  openAlertsOfMeters,
  type UsageAlertRow,
} from '../../infra/store/usage-alerts-repo.js';
import { createWorkOrder, moveWorkOrder } from '../work-orders/work-orders.js';
import { orderRowById, orderRowByNo } from '../../infra/store/work-orders-repo.js';
import type { GatewayContext } from '../context.js';

const PAGE = 200;
const DAY = 86_400;

/** Days of intervals the rules look at: the high-usage baseline and a week more. */
export function lookbackDays(s: AlertSettings): number {
  return Math.max(s.highUsage.days + s.highUsage.baselineDays + 7, s.reverseFlow.days, s.stoppedMeter.days + 7);
}

// A type alias, not an interface: a job's summary is a record of counts.
export type AlertRunSummary = {
  registers: number;
  opened: number;
  kept: number;
  cleared: number;
};

/** Checks every meter heard in the lookback (or just `meterIds`), page by page. */
export async function checkUsageAlerts(
  ctx: Pick<GatewayContext, 'store' | 'billing' | 'config' | 'log'>,
  opts: { now: Date; meterIds?: readonly string[]; signal?: AbortSignal },
): Promise<AlertRunSummary> {
  const db = ctx.store.db;
  const settings = ctx.config.alerts;
  const now = Math.floor(opts.now.getTime() / 1000);
  const from = now - lookbackDays(settings) * DAY;
  const summary: AlertRunSummary = { registers: 0, opened: 0, kept: 0, cleared: 0 };
  const lookup = new BillingMeterLookup(ctx.billing, await claimsList(db));
  for await (const page of meterPages(ctx, from, opts.meterIds)) {
    if (opts.signal?.aborted) break;
    await lookup.prepare(page);
    const registers = page.flatMap((meterId) => {
      const reg = lookup.find([meterId], 1).register;
      return reg ? [{ meterId, reg }] : [];
    });
    const active = await ctx.billing.activeAccounts(
      registers.flatMap((r) => (r.reg.accountNo ? [r.reg.accountNo] : [])),
    );
    const open = groupBy(await openAlertsOfMeters(db, page), (a) => `${a.meter_id}|${a.channel}`);
    for (const { meterId, reg } of registers) {
      for (const channel of await meterChannels(db, meterId)) {
        const register = lookup.find([meterId], channel).register;
        if (!register) continue;
        summary.registers++;
        const seen = usageAlerts(
          {
            meterId,
            channel,
            meterType: register.meterType,
            unit: register.uom,
            accountActive: reg.accountNo !== null && active.has(reg.accountNo),
            intervals: await registerIntervals(db, meterId, channel, [from, now + 1]),
            registerReads: (await registerReadsBetween(db, meterId, channel, from, now)).map((r) => ({
              at: Number(r.read_at),
              value: Number(r.value),
            })),
            zone: ctx.config.timeZone,
            now,
          },
          settings,
        );
        const result = await settle(ctx, open.get(`${meterId}|${channel}`) ?? [], seen, {
          meterId,
          channel,
          accountNo: register.accountNo,
          at: opts.now,
        });
        summary.opened += result.opened;
        summary.kept += result.kept;
        summary.cleared += result.cleared;
      }
    }
  }
  if (summary.opened || summary.cleared) ctx.log.info('usage alerts checked', { module: 'alerts', ...summary });
  return summary;
}

/** The meters to check, a page at a time: those given, or every meter heard since `from`. */
async function* meterPages(
  ctx: Pick<GatewayContext, 'store'>,
  from: number,
  given: readonly string[] | undefined,
): AsyncGenerator<string[]> {
  if (given) {
    const sorted = [...new Set(given)].sort();
    for (let i = 0; i < sorted.length; i += PAGE) yield sorted.slice(i, i + PAGE);
    return;
  }
  let after = '';
  for (;;) {
    const page = await metersHeardSince(ctx.store.db, from, after, PAGE);
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!;
  }
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
}

/** Opens what is newly seen, keeps what is still seen, clears what is not. */
async function settle(
  ctx: Pick<GatewayContext, 'store' | 'config'>,
  open: readonly UsageAlertRow[],
  seen: readonly UsageAlert[],
  on: { meterId: string; channel: number; accountNo: string | null; at: Date },
): Promise<{ opened: number; kept: number; cleared: number }> {
  const db = ctx.store.db;
  const at = on.at.toISOString();
  let opened = 0;
  let kept = 0;
  let cleared = 0;
  for (const alert of seen) {
    const existing = open.find((a) => a.rule === alert.rule);
    if (existing) {
      await markAlertSeen(db, existing.id, { at, measured: alert.measured, message: alert.message });
      kept++;
      continue;
    }
    const rule = ctx.config.alerts[RULE_SETTING[alert.rule]];
    const exceptionId = rule.exception
      ? await recordExceptionReturningId(
          db,
          {
            source: 'usage-alerts',
            kind: `ALERT_${alert.rule.toUpperCase().replace(/-/g, '_')}`,
            severity: 'warn',
            meterId: on.meterId,
            field: alert.rule,
            value: String(alert.measured),
            message: `${alert.message} (meter ${on.meterId}${on.accountNo ? `, account ${on.accountNo}` : ''}; alerts.${RULE_SETTING[alert.rule]})`,
          },
          at,
        )
      : null;
    const order = rule.workOrder
      ? await createWorkOrder(
          db,
          ctx.config,
          {
            source: 'usage-alerts',
            type: 'Investigation',
            accountNo: on.accountNo,
            meterId: on.meterId,
            notes: `Usage alert: ${alert.message}`.slice(0, 500),
          },
          { role: 'system', name: 'usage-alerts' },
          on.at,
        )
      : null;
    await insertAlert(db, {
      meter_id: on.meterId,
      channel: on.channel,
      account_no: on.accountNo,
      rule: alert.rule,
      since_at: alert.since,
      measured: alert.measured,
      message: alert.message,
      exception_id: exceptionId,
      work_order_id: order ? ((await orderRowByNo(db, order.order.orderNo))?.id ?? null) : null,
      opened_at: at,
      seen_at: at,
      cleared_at: null,
    });
    opened++;
  }
  for (const alert of open) {
    if (seen.some((s) => s.rule === alert.rule)) continue;
    await clearAlert(db, alert.id, at);
    if (alert.work_order_id !== null) await callOffOrder(ctx, alert.work_order_id, on.at);
    if (alert.exception_id !== null)
      await resolveOpenExceptions(
        db,
        { id: alert.exception_id },
        { resolution: 'the condition is no longer seen in the meter data', by: 'system', at },
      );
    cleared++;
  }
  return { opened, kept, cleared };
}

/**
 * The Investigation order an alert opened, called off when the condition ends before anyone was
 * sent: no truck roll for a leak that stopped. Once dispatched it is the technician's to finish.
 */
async function callOffOrder(ctx: Pick<GatewayContext, 'store' | 'config'>, orderId: number, now: Date): Promise<void> {
  const row = await orderRowById(ctx.store.db, orderId);
  if (!row || row.state !== 'created') return;
  await moveWorkOrder(
    ctx.store.db,
    ctx.config,
    row.order_no,
    { to: 'cancelled', version: row.version, reason: 'the usage alert cleared before the order was dispatched' },
    { role: 'system', name: 'usage-alerts' },
    now,
  );
}
