import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayContext } from '../context.js';
import type { AccountStanding } from '../../infra/billing/billing.js';
import { addDays, localDate } from '../../core/local-time.js';
import { shutOffDate, stillCuttable } from '../../core/past-due.js';
import { FINAL_STATES } from '../../core/work-orders.js';
import { createWorkOrder, findWorkOrder, moveWorkOrder } from './work-orders.js';
import {
  insertNotice,
  noticeSentOn,
  openNoticeAccounts,
  openNotices,
  setNoticeStatus,
} from '../../infra/store/notices-repo.js';

/**
 * Past due to cut-off, one pass per day (the `past-due` job):
 * 1. open notices first: a paid or arranged account is settled (its cut order, if any, cancelled
 *    in the field; a Reconnect ordered if it was already cut); a notice whose shut-off date has
 *    come gets its CutForNonPayment order;
 * 2. then accounts newly past due get a notice with a shut-off date (weekends and holidays
 *    skipped), a DisconnectWarning order, a printable notice and a line in the mail house's CSV.
 * All days and amounts are config (`pastDue`). Runs again on the same day change nothing.
 */
const SYSTEM = { role: 'system' as const, name: 'past-due' };

export async function runPastDue(ctx: GatewayContext): Promise<Record<string, number>> {
  const cfg = ctx.config.pastDue;
  const db = ctx.store.db;
  const now = ctx.clock();
  const today = localDate(now, ctx.config.timeZone);
  const holidays = new Set(cfg.holidays);
  const counts = { noticed: 0, cutOrdered: 0, cancelledInField: 0, reconnects: 0, paid: 0, arranged: 0 };
  const setStatus = (id: number, status: string, extra: { cut_order_no?: string; reconnect_order_no?: string } = {}) =>
    setNoticeStatus(db, id, status, now.toISOString(), extra);

  const open = await openNotices(db);
  const standing = await ctx.billing.accountStanding(open.map((n) => n.account_no));
  for (const notice of open) {
    const wasStatus = notice.status;
    const s = standing.get(notice.account_no);
    const verdict = s ? stillCuttable(s, today, cfg.minBalance) : 'paid';
    const cut = notice.cut_order_no ? await findWorkOrder(db, notice.cut_order_no, ctx.config.timeZone, now) : null;
    if (notice.status === 'cut_ordered' && cut?.state === 'completed') notice.status = 'cut';
    if (verdict !== 'cut') {
      if (notice.status === 'cut') {
        const { order } = await createWorkOrder(
          db,
          ctx.config,
          {
            source: 'past-due',
            type: 'Reconnect',
            accountNo: notice.account_no,
            meterId: cut?.meterId ?? null,
            area: cut?.area ?? null,
            priority: 1,
            dueDate: today,
            notes: `${verdict === 'paid' ? 'Paid' : 'Payment arrangement'}: reconnect (cut by ${notice.cut_order_no})`,
          },
          SYSTEM,
          now,
        );
        await setStatus(notice.id, 'reconnect_ordered', { reconnect_order_no: order.orderNo });
        counts.reconnects++;
        continue;
      }
      if (cut && !FINAL_STATES.includes(cut.state)) {
        // Paid after dispatch: the cut is called off in the field (the technician's tablet is told).
        await moveWorkOrder(
          db,
          ctx.config,
          cut.orderNo,
          {
            to: 'cancelled',
            version: cut.version,
            reason: verdict === 'paid' ? 'account paid' : 'payment arrangement',
          },
          SYSTEM,
          now,
        );
        counts.cancelledInField++;
      }
      await setStatus(notice.id, verdict);
      counts[verdict]++;
      continue;
    }
    if (notice.status === 'noticed' && notice.shut_off_date <= today) {
      const meters = await ctx.billing.accountMeters(notice.account_no);
      const meterId = meters[0] ?? null;
      const area = meterId ? ((await ctx.billing.findMeters([meterId])).get(meterId)?.routeCode ?? null) : null;
      const { order } = await createWorkOrder(
        db,
        ctx.config,
        {
          source: 'past-due',
          type: 'CutForNonPayment',
          accountNo: notice.account_no,
          meterId,
          area,
          priority: cfg.cutPriority,
          dueDate: today,
          notes: `Shut-off date ${notice.shut_off_date}; balance ${s!.balanceDue.toFixed(2)}`,
        },
        SYSTEM,
        now,
      );
      await setStatus(notice.id, 'cut_ordered', { cut_order_no: order.orderNo });
      counts.cutOrdered++;
    } else if (notice.status !== wasStatus) {
      await setStatus(notice.id, notice.status);
    }
  }

  const noticed = await openNoticeAccounts(db);
  const due = await ctx.billing.pastDueAccounts(addDays(today, -cfg.daysPastDue), cfg.minBalance);
  const fresh: (AccountStanding & { shutOff: string })[] = [];
  for (const a of due) {
    if (noticed.has(a.accountNo) || stillCuttable(a, today, cfg.minBalance) !== 'cut') continue;
    // Notices already sent today (a second run) are not sent again.
    if (await noticeSentOn(db, a.accountNo, today)) continue;
    const shutOff = shutOffDate(today, cfg.noticeDays, holidays);
    let warning: string | null = null;
    if (cfg.warningOrders) {
      const meters = await ctx.billing.accountMeters(a.accountNo);
      warning = (
        await createWorkOrder(
          db,
          ctx.config,
          {
            source: 'past-due',
            type: 'DisconnectWarning',
            accountNo: a.accountNo,
            meterId: meters[0] ?? null,
            priority: 4,
            dueDate: addDays(shutOff, -1),
            notes: `Door hanger: shut-off ${shutOff}`,
          },
          SYSTEM,
          now,
        )
      ).order.orderNo;
    }
    await insertNotice(db, {
      account_no: a.accountNo,
      customer_name: a.customerName?.slice(0, 60) ?? null,
      address: `${a.address ?? ''}, ${a.city ?? ''}`.slice(0, 120),
      balance: a.balanceDue,
      due_date: a.dueDate,
      notice_date: today,
      shut_off_date: shutOff,
      status: 'noticed',
      warning_order_no: warning,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    });
    fresh.push({ ...a, shutOff });
    counts.noticed++;
  }
  if (fresh.length) writeNotices(path.resolve(ctx.config.dataDir, 'notices', today), today, fresh);
  return counts;
}

/** The mail house's CSV for the day, and one printable notice per account. */
function writeNotices(dir: string, today: string, notices: readonly (AccountStanding & { shutOff: string })[]): void {
  mkdirSync(dir, { recursive: true });
  const csv = (v: unknown) => `"${String(v ?? '').replace(/"/g, '""')}"`;
  const lines = [
    'account_no,customer_name,address,city,balance_due,due_date,notice_date,shut_off_date',
    ...notices.map((n) =>
      [n.accountNo, n.customerName, n.address, n.city, n.balanceDue.toFixed(2), n.dueDate, today, n.shutOff]
        .map(csv)
        .join(','),
    ),
  ];
  writeFileSync(path.join(dir, 'mail-house.csv'), `${lines.join('\r\n')}\r\n`);
  const esc = (s: unknown) =>
    String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  for (const n of notices) {
    writeFileSync(
      path.join(dir, `notice-${n.accountNo.replace(/[^\w-]/g, '')}.html`),
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Disconnect notice ` +
        `${esc(n.accountNo)}</title>` +
        `<style>body{font:12pt serif;max-width:6.5in;margin:1in ` +
        `auto}h1{font-size:16pt}.due{font-weight:bold}</style></head><body>` +
        `<p>${esc(n.customerName)}<br>${esc(n.address)}<br>${esc(n.city)}</p><p>Account ${esc(n.accountNo)} · ` +
        `${esc(today)}</p>` +
        `<h1>Notice of disconnection</h1><p>Your account has a past-due balance of <span ` +
        `class="due">$${n.balanceDue.toFixed(2)}</span>, due ${esc(n.dueDate)}.</p>` +
        `<p>Unless it is paid, or a payment arrangement is made, service will be disconnected on or after <span ` +
        `class="due">${esc(n.shutOff)}</span>.</p>` +
        `<p>To pay or to arrange payments, call customer service or visit our office.</p></body></html>\n`,
    );
  }
}
