/**
 * Usage for the demo (issue 21, point 5): 90 days of AMI intervals for part of the demo's
 * meters, so the account page, the usage charts, the alerts and the portal show real-looking
 * data on the first `npm start`. Water is hourly, electricity and gas fifteen-minutely, each
 * with a day's shape and a little noise. A few water meters leak for the last days, one stops,
 * and one account's use triples in the last week. The data goes in as one AMI batch (source
 * `demo`) through the same import as a head-end's, so VEE, daily reads and suspense all see it.
 */

import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { SourceChannel } from '../../../adapters/ami-records.js';
import type { Billing } from '../../infra/billing/billing.js';
import { importAmiBatch, type AmiImportContext, type AmiImportResult } from './import-ami.js';

export interface DemoUsagePlan {
  multiplier: number;
  meterId: string;
  meterType: string;
  unit: string;
  accountNo: string | null;
  story: 'normal' | 'leak' | 'stopped' | 'high-use';
  /** The meter's use a day in the register's unit, from its last billed period (so the AMI agrees with billing). */
  daily: number | null;
}

/** Water's share of a day's use, hour by hour (nothing between midnight and 5 am). */
const WATER_HOURS = [0, 0, 0, 0, 0, 1, 6, 10, 8, 5, 4, 4, 4, 3, 3, 4, 5, 7, 9, 8, 7, 5, 2, 1];
/** Electricity's: never zero (the fridge), peaks morning and evening. */
const ENERGY_HOURS = [3, 3, 3, 3, 3, 4, 6, 7, 5, 4, 4, 4, 4, 4, 4, 5, 6, 8, 9, 9, 8, 6, 5, 4];
const DAILY: Record<string, number> = { GAL: 220, CF: 30, KWH: 30, THERM: 2.5 };

/** Which demo meters get usage, and their stories: the first active meters of each kind, mostly water. */
export async function planDemoUsage(billing: Billing, meters: number): Promise<DemoUsagePlan[]> {
  const rows = await billing.meterRegisters();
  const active = await billing.activeAccounts(rows.flatMap((r) => (r.accountNo == null ? [] : [String(r.accountNo)])));
  const water = Math.ceil(meters * 0.6);
  const electric = Math.min(meters - water, Math.ceil(meters * 0.3));
  const quota: Record<string, number> = { W: water, E: electric, G: meters - water - electric };
  const picked: DemoUsagePlan[] = [];
  for (const r of rows) {
    const type = String(r.meterType);
    const accountNo = r.accountNo == null ? null : String(r.accountNo);
    if (Number(r.registerNo) !== 1 || !accountNo || !active.has(accountNo) || !(quota[type]! > 0)) continue;
    quota[type]!--;
    picked.push({
      meterId: String(r.meterId),
      meterType: type,
      unit: String(r.uom),
      accountNo,
      story: 'normal',
      daily: null,
      multiplier: Number(r.multiplier) || 1,
    });
  }
  const plan = picked.sort((a, b) => (a.meterId < b.meterId ? -1 : 1));
  // Each meter's usual use, from its last two billed reads (units on the dials times the multiplier).
  const history = await billing.readHistory(
    plan.map((p) => p.meterId),
    '1900-01-01',
  );
  for (const p of plan) {
    const own = history.filter((h) => h.meterId === p.meterId && h.registerNo === 1);
    const [before, last] = own.slice(-2);
    const days = before && last ? (Date.parse(last.readDate) - Date.parse(before.readDate)) / 86_400_000 : 0;
    if (days > 0) p.daily = (last!.consumption * p.multiplier) / days;
  }
  const gallons = plan.filter((p) => p.unit === 'GAL');
  for (const p of gallons.slice(0, 3)) p.story = 'leak';
  if (gallons[3]) gallons[3].story = 'stopped';
  const energy = plan.find((p) => p.unit === 'KWH') ?? gallons[4];
  if (energy) energy.story = 'high-use';
  return plan;
}

/** A small, seeded random source: the demo is the same on every machine. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4_294_967_296;
  };
}

/** Feeds the plan's intervals for the `days` before the hour `now` is in. */
export function* demoIntervals(
  plan: readonly DemoUsagePlan[],
  opts: { now: Date; days: number; zone: string; seed: number },
): Generator<{ channel: SourceChannel; startAt: number; value: number }> {
  const rnd = random(opts.seed);
  const end = Math.floor(opts.now.getTime() / 3_600_000) * 3600;
  const start = end - opts.days * 86_400;
  for (const p of plan) {
    const water = p.meterType === 'W';
    const seconds = water ? 3600 : 900;
    const shape = water ? WATER_HOURS : ENERGY_HOURS;
    const total = shape.reduce((a, b) => a + b, 0);
    const daily = p.daily ?? (DAILY[p.unit] ?? 10) * (0.6 + rnd() * 0.8);
    const channel: SourceChannel = { meterRef: p.meterId, channel: 1, unit: null, seconds, constant: 1 };
    for (let t = start; t < end; t += seconds) {
      const hour = DateTime.fromSeconds(t, { zone: opts.zone }).hour;
      const daysLeft = (end - t) / 86_400;
      let value = ((daily * shape[hour]!) / total) * (seconds / 3600) * (0.7 + rnd() * 0.6);
      if (p.story === 'stopped' && daysLeft <= 10) value = 0;
      if (p.story === 'high-use' && daysLeft <= 7) value *= 3;
      // A running toilet: about 6 gallons an hour, day and night, for the last four days.
      if (p.story === 'leak' && daysLeft <= 4) value += 5 + rnd() * 2;
      yield { channel, startAt: t, value: Math.round(value * 1000) / 1000 };
    }
  }
}

/** Imports the demo's usage as one AMI batch (the same content twice is one batch). */
export async function seedDemoUsage(
  ctx: AmiImportContext,
  opts: { meters: number; days: number; seed: number },
): Promise<{ plan: DemoUsagePlan[]; result: AmiImportResult }> {
  const plan = await planDemoUsage(ctx.billing, opts.meters);
  const now = ctx.clock();
  const day = now.toISOString().slice(0, 10);
  const sha256 = createHash('sha256')
    .update(`demo-usage\n${day}\n${opts.seed}\n${plan.map((p) => p.meterId).join(',')}`)
    .digest('hex');
  const result = await importAmiBatch(
    ctx,
    { source: 'demo', name: `demo usage, ${opts.days} days to ${day}`, sha256, actor: 'demo' },
    async (feed) => {
      let line = 0;
      for (const iv of demoIntervals(plan, { now, days: opts.days, zone: ctx.config.timeZone, seed: opts.seed })) {
        feed.interval(
          iv.channel,
          { startAt: iv.startAt, seconds: iv.channel.seconds, value: iv.value, quality: 'A', flags: null },
          ++line,
        );
        if (line % 10_000 === 0) await feed.flushIfFull();
      }
    },
  );
  return { plan, result };
}
