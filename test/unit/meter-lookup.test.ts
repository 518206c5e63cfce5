import { describe, expect, it } from 'vitest';
import { BillingMeterLookup, MeterDirectory } from '../../src/flows/ami/meter-directory.js';

/**
 * An AMI file's meters are looked up in billing part by part (BillingMeterLookup) instead of
 * loading all of billing's meters: its answers must be the whole directory's, for every rule of
 * naming (meter id over alias, first owner of a shared alias, leading zeros, claims).
 */
const row = (meterId: string, registerNo: number, extra: { radioId?: string; serial?: string; uom?: string } = {}) => ({
  meterId,
  radioId: extra.radioId ?? null,
  serial: extra.serial ?? `S-${meterId}`,
  meterType: meterId[0],
  dials: 6,
  multiplier: 1,
  accountNo: `A-${meterId}`,
  registerNo,
  uom: extra.uom ?? 'GAL',
  lastReadValue: 100,
  lastReadDate: '2026-10-01',
});

const ROWS = [
  row('E0000001', 1, { radioId: '55500001', uom: 'KWH' }),
  row('E0000001', 2, { radioId: '55500001', uom: 'KWH' }),
  // Two meters share a radio id: the first in meter order owns it.
  row('W0000002', 1, { radioId: '55500002' }),
  row('W0000003', 1, { radioId: '55500002' }),
  // A meter's serial that is another meter's id: the meter id wins.
  row('W0000004', 1, { serial: 'W0000005' }),
  row('W0000005', 1, { radioId: '00077' }),
  row('12345', 1, { uom: 'CF' }),
];
const CLAIMS = [
  { meter_ref: 'HEADEND-9', meter_id: 'W0000004' },
  // A claim never takes a name billing uses.
  { meter_ref: '55500001', meter_id: 'W0000004' },
];

/** Billing answering by the mapped columns, and counting what it was asked. */
function fakeBilling() {
  const asked: string[][] = [];
  return {
    asked,
    async meterRegistersNamed(by: 'meterId' | 'radioId' | 'serial', names: readonly string[]) {
      asked.push([by, ...names]);
      return ROWS.filter((r) => names.includes(String(r[by] ?? '')));
    },
  };
}

const QUESTIONS: [string[], number][] = [
  [['E0000001'], 2],
  [['55500001'], 1],
  [['55500002'], 1],
  [['W0000005'], 1],
  [['S-W0000003'], 1],
  [['0012345'], 1],
  [['00077'], 1],
  [['77'], 1],
  [['HEADEND-9'], 1],
  [['NOBODY', 'S-W0000002'], 1],
  [['NOBODY'], 1],
  [['W0000002'], 9],
];

describe('AMI meter lookup, part by part', () => {
  it('answers what the whole directory answers', async () => {
    const whole = MeterDirectory.fromRows(ROWS, CLAIMS);
    const billing = fakeBilling();
    const lookup = new BillingMeterLookup(billing, CLAIMS);
    await lookup.prepare(QUESTIONS.flatMap(([refs]) => refs));
    for (const [refs, channel] of QUESTIONS) {
      expect(lookup.find(refs, channel), `${refs.join(',')} register ${channel}`).toEqual(whole.find(refs, channel));
      expect(lookup.meterOf(refs), refs.join(',')).toBe(whole.meterOf(refs));
      expect(lookup.findByUnit(refs, 'KWH')).toEqual(whole.findByUnit(refs, 'KWH'));
    }
    expect(lookup.meterOf(['55500002'])).toBe('W0000002');
    expect(lookup.meterOf(['W0000005'])).toBe('W0000005');
    expect(lookup.meterOf(['HEADEND-9'])).toBe('W0000004');
    expect(lookup.meterOf(['55500001'])).toBe('E0000001');
  });

  it('asks billing only for names it does not hold, and holds a bounded number of them', async () => {
    const billing = fakeBilling();
    const lookup = new BillingMeterLookup(billing, [], 4);
    await lookup.prepare(['E0000001', 'W0000002']);
    await lookup.prepare(['E0000001', 'W0000002']);
    expect(billing.asked).toEqual([['meterId', 'E0000001', 'W0000002']]);
    // Past the bound what is held is let go of; the names of the part at hand are always there.
    await lookup.prepare(['W0000003', 'W0000004', 'W0000005']);
    expect(lookup.meterOf(['W0000004'])).toBe('W0000004');
    expect(() => lookup.meterOf(['E0000001'])).toThrow(/before it was prepared/);
  });

  it('refuses a lookup of a name that was not prepared, rather than calling it unknown', () => {
    const lookup = new BillingMeterLookup(fakeBilling());
    expect(() => lookup.find(['E0000001'], 1)).toThrow(/before it was prepared/);
  });
});
