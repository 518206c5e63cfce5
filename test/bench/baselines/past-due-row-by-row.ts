import path from 'node:path';
import type { GatewayContext } from '../../../src/flows/context.js';
import type { AccountStanding } from '../../../src/infra/billing/billing.js';
import { addDays, localDate } from '../../../src/core/local-time.js';
import { shutOffDate, stillCuttable } from '../../../src/core/past-due.js';
import { FINAL_STATES } from '../../../src/core/work-orders.js';
import { createWorkOrder, findWorkOrder, moveWorkOrder } from '../../../src/flows/work-orders/work-orders.js';
import { writeNotices } from '../../../src/flows/work-orders/past-due.js';
import type { Knex } from 'knex';
import { openNoticeAccounts, openNotices, type NewNotice } from '../../../src/infra/store/notices-repo.js';

// The store calls the job made one notice at a time (the gateway's store no longer has them).
async function setNoticeStatus(
  db: Knex,
  id: number,
  status: string,
  now: string,
  extra: { cut_order_no?: string; reconnect_order_no?: string } = {},
): Promise<void> {
  await db('disconnect_notices')
    .where({ id })
    .update({ status, updated_at: now, ...extra });
}

async function noticeSentOn(db: Knex, accountNo: string, day: string): Promise<boolean> {
  return Boolean(await db('disconnect_notices').where({ account_no: accountNo, notice_date: day }).first());
}

async function insertNotice(db: Knex, n: NewNotice): Promise<void> {
  await db('disconnect_notices').insert(n);
}

/**
 * The bench's baseline: past-due as the gateway ran it before it went set-based (issue 20),
 * account by account (a billing query, an order transaction and a notice insert each). Kept to
 * measure the set-based job against in the same run; the gateway does not use it.
 *
 * Past due to cut-off, one pass per day (the `past-due` job):
 * 1. open notices first: a paid or arranged account is settled (its cut order, if any, cancelled
 *    in the field; a Reconnect ordered if it was already cut); a notice whose shut-off date has
 *    come gets its CutForNonPayment order;
 * 2. then accounts newly past due get a notice with a shut-off date (weekends and holidays
 *    skipped), a DisconnectWarning order, a printable notice and a line in the mail house's CSV.
 * All days and amounts are config (`pastDue`). Runs again on the same day change nothing.
 */
const SYSTEM = { role: 'system' as const, name: 'past-due' };

export async function runPastDueRowByRow(ctx: GatewayContext): Promise<Record<string, number>> {
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
