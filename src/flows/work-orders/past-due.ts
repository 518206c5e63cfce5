import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayContext } from '../context.js';
import type { AccountStanding } from '../../infra/billing/billing.js';
import { addDays, localDate } from '../../core/local-time.js';
import { noticeStep, shutOffDate, stillCuttable } from '../../core/past-due.js';
import { createWorkOrders, moveWorkOrder } from './work-orders.js';
import {
  accountsNoticedOn,
  insertNotices,
  openNoticeAccounts,
  openNotices,
  setNoticeStatuses,
  type NewNotice,
  type Notice,
} from '../../infra/store/notices-repo.js';
import { orderRowsByNo } from '../../infra/store/work-orders-repo.js';

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

/**
 * In sets, not account by account: one pass over billing for the standing of every open notice and
 * the meters of every account concerned, the orders and notices of each step made in one
 * transaction each (created with the notices that name them, so a crash leaves both or neither).
 * The rules are core's (`noticeStep`, `stillCuttable`, `shutOffDate`).
 */
export async function runPastDue(ctx: GatewayContext): Promise<Record<string, number>> {
  const cfg = ctx.config.pastDue;
  const db = ctx.store.db;
  const now = ctx.clock();
  const at = now.toISOString();
  const today = localDate(now, ctx.config.timeZone);
  const counts = { noticed: 0, cutOrdered: 0, cancelledInField: 0, reconnects: 0, paid: 0, arranged: 0 };

  // 1. Open notices.
  const open = await openNotices(db);
  const standing = await ctx.billing.accountStanding(open.map((n) => n.account_no));
  const cuts = await orderRowsByNo(
    db,
    open.flatMap((n) => (n.cut_order_no ? [n.cut_order_no] : [])),
  );
  const reconnect: { notice: Notice; verdict: 'paid' | 'arranged' }[] = [];
  const cutDue: Notice[] = [];
  const statuses: { id: number; status: string }[] = [];
  for (const notice of open) {
    const s = standing.get(notice.account_no);
    const cut = notice.cut_order_no ? cuts.get(notice.cut_order_no) : undefined;
    const step = noticeStep(
      { status: notice.status, shutOffDate: notice.shut_off_date },
      s ? stillCuttable(s, today, cfg.minBalance) : 'paid',
      cut?.state ?? null,
      today,
    );
    if (step.kind === 'reconnect') reconnect.push({ notice, verdict: step.verdict });
    else if (step.kind === 'cut') cutDue.push(notice);
    else if (step.kind === 'mark-cut') statuses.push({ id: notice.id, status: 'cut' });
    else if (step.kind === 'settle') {
      if (step.cancelCut && cut) {
        // Paid after dispatch: the cut is called off in the field (the technician's tablet is told).
        await moveWorkOrder(
          db,
          ctx.config,
          cut.order_no,
          {
            to: 'cancelled',
            version: cut.version,
            reason: step.verdict === 'paid' ? 'account paid' : 'payment arrangement',
          },
          SYSTEM,
          now,
        );
        counts.cancelledInField++;
      }
      statuses.push({ id: notice.id, status: step.verdict });
      counts[step.verdict]++;
    }
  }
  if (statuses.length) await db.transaction((trx) => setNoticeStatuses(trx, statuses, at));

  await createWorkOrders(
    db,
    ctx.config,
    reconnect.map(({ notice, verdict }) => {
      const cut = cuts.get(notice.cut_order_no!);
      return {
        source: 'past-due',
        type: 'Reconnect' as const,
        accountNo: notice.account_no,
        meterId: cut?.meter_id ?? null,
        area: cut?.area ?? null,
        priority: 1,
        dueDate: today,
        notes: `${verdict === 'paid' ? 'Paid' : 'Payment arrangement'}: reconnect (cut by ${notice.cut_order_no})`,
      };
    }),
    SYSTEM,
    now,
    (trx, orderNos) =>
      setNoticeStatuses(
        trx,
        reconnect.map(({ notice }, i) => ({
          id: notice.id,
          status: 'reconnect_ordered',
          reconnect_order_no: orderNos[i]!,
        })),
        at,
      ),
  );
  counts.reconnects = reconnect.length;

  const cutMeters = await ctx.billing.accountsMeters(cutDue.map((n) => n.account_no));
  await createWorkOrders(
    db,
    ctx.config,
    cutDue.map((notice) => {
      const meter = cutMeters.get(notice.account_no)?.[0];
      return {
        source: 'past-due',
        type: 'CutForNonPayment' as const,
        accountNo: notice.account_no,
        meterId: meter?.meterId ?? null,
        area: meter?.routeCode ?? null,
        priority: cfg.cutPriority,
        dueDate: today,
        notes: `Shut-off date ${notice.shut_off_date}; balance ${standing.get(notice.account_no)!.balanceDue.toFixed(2)}`,
      };
    }),
    SYSTEM,
    now,
    (trx, orderNos) =>
      setNoticeStatuses(
        trx,
        cutDue.map((notice, i) => ({ id: notice.id, status: 'cut_ordered', cut_order_no: orderNos[i]! })),
        at,
      ),
  );
  counts.cutOrdered = cutDue.length;

  // 2. Accounts newly past due: a notice each (none twice in a day), with a door hanger if configured.
  const noticed = await openNoticeAccounts(db);
  const noticedToday = await accountsNoticedOn(db, today);
  const shutOff = shutOffDate(today, cfg.noticeDays, new Set(cfg.holidays));
  const fresh = (await ctx.billing.pastDueAccounts(addDays(today, -cfg.daysPastDue), cfg.minBalance)).filter(
    (a) =>
      !noticed.has(a.accountNo) && !noticedToday.has(a.accountNo) && stillCuttable(a, today, cfg.minBalance) === 'cut',
  );
  const meters = cfg.warningOrders ? await ctx.billing.accountsMeters(fresh.map((a) => a.accountNo)) : new Map();
  const notices = (warnings: readonly (string | null)[]): NewNotice[] =>
    fresh.map((a, i) => ({
      account_no: a.accountNo,
      customer_name: a.customerName?.slice(0, 60) ?? null,
      address: `${a.address ?? ''}, ${a.city ?? ''}`.slice(0, 120),
      balance: a.balanceDue,
      due_date: a.dueDate,
      notice_date: today,
      shut_off_date: shutOff,
      status: 'noticed',
      warning_order_no: warnings[i] ?? null,
      created_at: at,
      updated_at: at,
    }));
  if (cfg.warningOrders)
    await createWorkOrders(
      db,
      ctx.config,
      fresh.map((a) => ({
        source: 'past-due',
        type: 'DisconnectWarning' as const,
        accountNo: a.accountNo,
        meterId: meters.get(a.accountNo)?.[0]?.meterId ?? null,
        priority: 4,
        dueDate: addDays(shutOff, -1),
        notes: `Door hanger: shut-off ${shutOff}`,
      })),
      SYSTEM,
      now,
      (trx, orderNos) => insertNotices(trx, notices(orderNos)),
    );
  else if (fresh.length) await db.transaction((trx) => insertNotices(trx, notices([])));
  counts.noticed = fresh.length;
  if (fresh.length)
    writeNotices(
      path.resolve(ctx.config.dataDir, 'notices', today),
      today,
      fresh.map((a) => ({ ...a, shutOff })),
    );
  return counts;
}

/** The mail house's CSV for the day, and one printable notice per account. */
export function writeNotices(
  dir: string,
  today: string,
  notices: readonly (AccountStanding & { shutOff: string })[],
): void {
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
