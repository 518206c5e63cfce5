/**
 * What a customer sees of their own account in the portal: the premise, the meters, usage by
 * day or hour with the same days last year, alerts in plain words, and Download My Data. The
 * caller has checked the account is theirs.
 */

import { addDays, localDate } from '../../core/local-time.js';
import { usagePointId, type EspiPart } from '../ami/espi-writer.js';
import { isoAt } from '../../core/vee/types.js';
import { NotFoundError } from '../../errors.js';
import { meterChannels } from '../../infra/store/ami-repo.js';
import { alertsOfAccount } from '../../infra/store/usage-alerts-repo.js';
import { registerUsage, sumPointsBy, usageCsv, usageEspi, type UsagePoint } from '../ami/usage.js';
import type { GatewayContext } from '../context.js';

type Ctx = Pick<GatewayContext, 'store' | 'billing' | 'config' | 'clock'>;

const KIND: Record<string, string> = { W: 'water', E: 'electricity', G: 'gas' };

/** The account's registers that have AMI data, with their unit. */
export async function accountRegisters(ctx: Ctx, accountNo: string) {
  const account = await ctx.billing.account(accountNo);
  if (!account) throw new NotFoundError('account', accountNo);
  const out: { meterId: string; channel: number; unit: string; kind: string }[] = [];
  for (const m of account.meters) {
    const channels = await meterChannels(ctx.store.db, m.meterId);
    for (const r of m.registers)
      if (channels.includes(r.registerNo))
        out.push({ meterId: m.meterId, channel: r.registerNo, unit: r.uom, kind: KIND[m.meterType] ?? 'usage' });
  }
  return { account, registers: out };
}

export async function customerAccount(ctx: Ctx, accountNo: string) {
  const { account, registers } = await accountRegisters(ctx, accountNo);
  const alerts = await alertsOfAccount(ctx.store.db, accountNo, ctx.clock().toISOString());
  return {
    accountNo,
    customerName: account.customerName,
    address: `${account.address}, ${account.city}`,
    meters: account.meters.map((m) => ({
      meterId: m.meterId,
      kind: KIND[m.meterType] ?? 'usage',
      units: m.registers.map((r) => r.uom),
      hasUsage: registers.some((r) => r.meterId === m.meterId),
    })),
    alerts: alerts
      .filter((a) => a.cleared_at === null)
      .map((a) => ({ meterId: a.meter_id, rule: a.rule, message: a.message, since: isoAt(a.since_at) })),
  };
}

/** Hours from intervals: each interval counted in the (UTC) hour it starts in. */
export const byHour = (points: readonly UsagePoint[]) => sumPointsBy(points, (at) => `${at.slice(0, 13)}:00:00.000Z`);

export async function customerUsage(
  ctx: Ctx,
  accountNo: string,
  q: { from: string; to: string; grain: 'hour' | 'day' },
) {
  const { registers } = await accountRegisters(ctx, accountNo);
  const zone = ctx.config.timeZone;
  const usage = async (reg: (typeof registers)[number], from: string, to: string) => {
    const u = await registerUsage(
      ctx.store.db,
      reg.meterId,
      reg.channel,
      { from, to, zone },
      q.grain === 'hour' ? 'interval' : 'day',
    );
    return q.grain === 'hour' ? byHour(u.points) : u.points;
  };
  const items = [];
  for (const reg of registers) {
    // 52 weeks back: the same weekdays, so a weekend is compared with a weekend.
    items.push({
      ...reg,
      points: await usage(reg, q.from, q.to),
      lastYear: await usage(reg, addDays(q.from, -364), addDays(q.to, -364)),
    });
  }
  return { accountNo, from: q.from, to: q.to, grain: q.grain, zone, items };
}

export async function customerUsageExport(
  ctx: Ctx,
  accountNo: string,
  q: { from: string; to: string; format: 'espi' | 'csv' },
): Promise<Iterable<string> | AsyncIterable<string>> {
  const { registers } = await accountRegisters(ctx, accountNo);
  const range = { from: q.from, to: q.to, zone: ctx.config.timeZone };
  return q.format === 'csv'
    ? usageCsv(ctx.store.db, registers, range)
    : usageEspi(ctx.store.db, registers, range, ctx.clock().toISOString());
}

/**
 * A Connect My Data subscription's usage as ESPI: all of it (the Batch), or one kind of resource,
 * or one UsagePoint's; the intervals from `published-min` to `published-max` (instants).
 */
export async function subscriptionUsage(
  ctx: Ctx,
  grant: { accountNo: string; subscriptionId: number },
  q: { min: number; max: number; parts?: readonly EspiPart[]; usagePoint?: string },
): Promise<Iterable<string>> {
  const { registers } = await accountRegisters(ctx, grant.accountNo);
  const chosen = q.usagePoint === undefined ? registers : registers.filter((r) => usagePointId(r) === q.usagePoint);
  if (chosen.length === 0) throw new NotFoundError('UsagePoint', q.usagePoint ?? '');
  const zone = ctx.config.timeZone;
  const range = { from: localDate(new Date(q.min * 1000), zone), to: localDate(new Date(q.max * 1000), zone), zone };
  return usageEspi(ctx.store.db, chosen, range, ctx.clock().toISOString(), {
    subscriptionId: grant.subscriptionId,
    parts: q.parts,
    seconds: [q.min, q.max],
  });
}
