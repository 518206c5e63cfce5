import { describe, expect, it } from 'vitest';
import {
  buildLedger,
  ledgerRow,
  summarizeLedger,
  type LedgerLine,
  type LedgerMeterInfo,
  type LedgerReading,
} from '../../src/core/ledger.js';

/** The preliminary billing ledger's arithmetic: dials, multipliers, flags, estimates and charges. */
const line = (over: Partial<LedgerLine> = {}): LedgerLine => ({
  route: 'R01',
  sequence: 1,
  account: 'A1',
  meterId: 'W1',
  register: 1,
  dials: 4,
  prevRead: 9_950,
  lowLimit: 9_980,
  highLimit: 200,
  expectedUnits: 60,
  ...over,
});
const read = (reading: number | null, over: Partial<LedgerReading> = {}): LedgerReading => ({
  status: reading === null ? 'skipped' : 'valid',
  reading,
  readType: 'actual',
  readAt: '2026-11-23T15:00:00.000Z',
  ...over,
});
const water: LedgerMeterInfo = {
  customerName: 'Ann',
  multiplier: 1,
  rate: { code: 'W-RES', fixedCharge: 14.5, unitCharge: 0.0061 },
};
const opts = { flagZero: true, unusualFactor: 3, chargeFixed: true };

describe('pre-bill ledger rows', () => {
  it('counts a rollover forward on the dials and charges fixed plus usage', () => {
    const row = ledgerRow(line(), read(30), water, opts);
    expect(row).toMatchObject({
      prevRead: 9_950,
      currentRead: 30,
      units: 80,
      consumption: 80,
      readType: 'actual',
      flags: ['rollover'],
      estimatedCharge: 14.99,
    });
  });

  it('multiplies units by the meter multiplier before charging', () => {
    const meter = { customerName: 'Shop', multiplier: 40, rate: { code: 'E-COM', fixedCharge: 42, unitCharge: 0.118 } };
    const row = ledgerRow(
      line({ dials: 5, prevRead: 1_000, lowLimit: 1_010, highLimit: 1_100 }),
      read(1_050),
      meter,
      opts,
    );
    expect(row).toMatchObject({ units: 50, multiplier: 40, consumption: 2_000, estimatedCharge: 278, flags: [] });
  });

  it("flags high, low, zero and negative against the route's limits", () => {
    const l = line({ prevRead: 1_000, lowLimit: 1_010, highLimit: 1_100, dials: 5, expectedUnits: null });
    expect(ledgerRow(l, read(1_500), water, opts).flags).toEqual(['high']);
    expect(ledgerRow(l, read(1_005), water, opts).flags).toEqual(['low']);
    expect(ledgerRow(l, read(1_000), water, opts).flags).toEqual(['low', 'zero']);
    expect(ledgerRow(l, read(1_000), water, { ...opts, flagZero: false }).flags).toEqual(['low']);
    const back = ledgerRow(l, read(990), water, opts);
    expect(back).toMatchObject({ units: -10, flags: ['negative'] });
    // Nothing is charged for running backwards: only the fixed charge.
    expect(back.estimatedCharge).toBe(14.5);
  });

  it("flags consumption far from the account's history whatever the read type, a rollover included", () => {
    // A hardware store that uses about 2,000 units a period: a rollover read of 464,600 units.
    const store = line({
      dials: 7,
      prevRead: 9_990_000,
      lowLimit: 9_991_000,
      highLimit: 9_996_000,
      expectedUnits: 2_000,
    });
    const rolled = ledgerRow(store, read(454_600), water, opts);
    expect(rolled).toMatchObject({ units: 464_600, flags: ['rollover', 'high', 'unusual'] });
    // Within the high limit, but estimated at a tenth of the usual: unusual, and estimated.
    const low = ledgerRow(store, read(9_990_200, { readType: 'estimated' }), water, opts);
    expect(low.flags).toEqual(['low', 'estimated', 'unusual']);
    expect(ledgerRow(store, read(9_992_500), water, opts).flags).toEqual([]);
    // Without history to compare, nothing is unusual.
    expect(ledgerRow({ ...store, expectedUnits: null }, read(454_600), water, opts).flags).toEqual([
      'rollover',
      'high',
    ]);
  });

  it('estimates a skipped or missing read from the units history expects, and says so', () => {
    expect(ledgerRow(line(), read(null), water, opts)).toMatchObject({
      currentRead: 10,
      units: 60,
      readType: 'estimated',
      flags: ['skipped', 'estimated'],
    });
    expect(ledgerRow(line(), undefined, water, opts)).toMatchObject({
      currentRead: 10,
      units: 60,
      readType: 'estimated',
      flags: ['missing', 'estimated'],
    });
    // Without history kept at export: the middle of the high/low window (30 and 250 units).
    expect(ledgerRow(line({ expectedUnits: null }), undefined, water, opts)).toMatchObject({
      units: 140,
      currentRead: 90,
    });
  });

  it('carries how the read was made: held, corrected, estimated by a CSR', () => {
    expect(ledgerRow(line(), read(30, { status: 'held' }), water, opts).flags).toEqual(['rollover', 'held']);
    expect(ledgerRow(line(), read(30, { readType: 'corrected' }), water, opts)).toMatchObject({
      readType: 'actual',
      flags: ['rollover', 'corrected'],
    });
    expect(ledgerRow(line(), read(30, { readType: 'estimated' }), water, opts)).toMatchObject({
      readType: 'estimated',
      flags: ['rollover', 'estimated'],
    });
  });

  it('has no charge when billing does not know the meter', () => {
    expect(ledgerRow(line(), read(30), undefined, opts)).toMatchObject({
      rateCode: null,
      estimatedCharge: null,
      multiplier: 1,
    });
  });
});

describe("a cycle's ledger", () => {
  it("orders by route and walk, charges an account's fixed charge once, and sums it up", () => {
    const lines = [
      line({ route: 'R02', sequence: 1, account: 'B', meterId: 'W3' }),
      line({ sequence: 2, account: 'A', meterId: 'W2', register: 2 }),
      line({ sequence: 1, account: 'A', meterId: 'W2' }),
    ];
    const rows = buildLedger(
      lines,
      (l) => (l.meterId === 'W3' ? undefined : read(30)),
      () => water,
      { flagZero: true, unusualFactor: 3 },
    );
    expect(rows.map((r) => `${r.route}/${r.sequence}`)).toEqual(['R01/1', 'R01/2', 'R02/1']);
    expect(rows.map((r) => r.estimatedCharge)).toEqual([14.99, 0.49, 14.87]);
    const summary = summarizeLedger(rows);
    expect(summary).toMatchObject({ rows: 3, accounts: 2, estimated: 1, consumption: 220, estimatedTotal: 30.35 });
    expect(summary.flagged).toMatchObject({ rollover: 2, missing: 1, estimated: 1, high: 0 });
  });
});
