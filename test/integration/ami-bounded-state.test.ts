import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import type { Interval } from '../../src/core/vee/types.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine } from '../tools/ami-fixtures.js';

/**
 * An import holds per-meter state (day totals, tails, meters heard) for a few parts of the file
 * only, and settles the rest as it goes (ami.settleAfterRegisters), so a file of a million meters
 * fits a small heap. Settling early must change nothing a user sees: the same intervals, daily
 * reads, billing queue and meters heard as an import that held everything to the end, including
 * for a meter that comes back later in the file and one named by its radio id.
 */
const DAY = Date.UTC(2026, 10, 2, 6) / 1000; // local midnight in Chicago, after the DST change

function meterDays(meterNo: number, from: number, to: number, days = 2): Interval[] {
  const out: Interval[] = [];
  for (let k = 0; k < days * 96; k++) {
    const startAt = DAY + k * 900;
    if (startAt < from || startAt >= to) continue;
    out.push({ startAt, seconds: 900, value: 0.25 + ((meterNo * 13 + k) % 17) / 40, quality: 'A', flags: null });
  }
  return out;
}

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI import state on $name', (dialect) => {
  const gateways: TestGateway[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-ami-bounded-'));
  const file = path.join(dir, 'head-end-day.cmep.csv');
  let meters: { meterId: string; radioId: string | null; uom: string }[] = [];

  const setup = async (label: string, ami: Record<string, unknown>) => {
    const gw = await testGateway(dialect, { label, accounts: 120, routes: 2, config: { ami } });
    gateways.push(gw);
    return gw;
  };
  const outcome = async (gw: TestGateway, r: AmiImportResult) => {
    const db = gw.ctx.store.db;
    return {
      counts: { received: r.received, stored: r.stored, dailyReads: r.dailyReads, unknown: r.unknownMeters },
      intervals: Number(((await db('ami_intervals').count({ n: '*' }).first()) as { n: number | string }).n),
      daily: (
        await db('ami_daily_reads')
          .select('meter_id', 'channel', 'read_date', 'value', 'consumption', 'read_type', 'flags', 'intervals')
          .orderBy(['meter_id', 'channel', 'read_date'])
      ).map((x) => ({ ...x, value: Number(x.value), consumption: Number(x.consumption) })),
      queued: (await db('outbox').select('key').orderBy('key')).map((x) => x.key as string),
      heard: (await db('ami_meters_heard').select('meter_id', 'first_at', 'last_at').orderBy('meter_id')).map((x) => ({
        meter_id: x.meter_id,
        first_at: Number(x.first_at),
        last_at: Number(x.last_at),
      })),
      exceptions: (await db('exceptions').select('kind', 'meter_id').orderBy(['kind', 'meter_id'])).map(
        (x) => `${x.kind}:${x.meter_id}`,
      ),
    };
  };

  beforeAll(async () => {
    const probe = await setup('bounded_probe', {});
    meters = (
      (await probe.ctx.billing.meterRegisters()) as { meterId: string; radioId: string | null; uom: string }[]
    ).filter((r, i, all) => all.findIndex((x) => x.meterId === r.meterId) === i);
    const withRadio = meters.find((m) => m.radioId)!;
    // A head-end's day in meter order; one meter's second day comes at the very end, one meter
    // is named by its radio id, and one name billing does not know.
    const lines: string[] = [];
    const late = meters[3]!;
    for (const [i, m] of meters.slice(0, 60).entries()) {
      const name = m === withRadio ? m.radioId! : m.meterId;
      const to = m === late ? DAY + 86_400 : Infinity;
      lines.push(cmepLine(name, m.uom, meterDays(i, 0, to)));
    }
    lines.push(cmepLine('HE-UNKNOWN-1', 'KWH', meterDays(99, 0, Infinity)));
    lines.push(cmepLine(late.meterId, late.uom, meterDays(3, DAY + 86_400, Infinity)));
    writeFileSync(file, `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    for (const gw of gateways) await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('settling after every part gives what holding everything gives', async () => {
    const held = await setup('bounded_held', { flushIntervals: 100_000, settleAfterRegisters: 1_000_000 });
    const settled = await setup('bounded_settled', { flushIntervals: 200, settleAfterRegisters: 1 });
    const a = await outcome(held, await importAmiFile({ ...held.ctx, db: held.ctx.store.db }, file));
    const b = await outcome(settled, await importAmiFile({ ...settled.ctx, db: settled.ctx.store.db }, file));
    expect(a.counts).toEqual({ received: 61 * 192, stored: 60 * 192, dailyReads: 120, unknown: 1 });
    expect(a.daily).toHaveLength(120);
    expect(a.daily.every((d) => d.intervals === 96)).toBe(true);
    expect(b).toEqual(a);
    // The late meter's second day was read back from the store and chained to its first.
    const late = a.daily.filter((d) => d.meter_id === meters[3]!.meterId);
    expect(late.map((d) => d.read_type)).toEqual(['E', 'A']);
  });
});
