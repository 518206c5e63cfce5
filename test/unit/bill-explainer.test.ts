import { describe, expect, it } from 'vitest';
import { explainBill, type ExplainerInput } from '../../src/core/bill-explainer.js';

/** What a CSR says to "why is my bill so high?", from billing's history and the read made since. */
const history = [
  { readDate: '2025-10-10', consumption: 6_000, estimated: false },
  { readDate: '2025-11-10', consumption: 6_200, estimated: false },
  { readDate: '2025-12-10', consumption: 5_900, estimated: false },
  { readDate: '2026-09-08', consumption: 6_300, estimated: false },
  { readDate: '2026-10-08', consumption: 6_000, estimated: false },
  { readDate: '2026-11-07', consumption: 9_300, estimated: true },
];
const input = (over: Partial<ExplainerInput> = {}): ExplainerInput => ({
  unit: 'GAL',
  dials: 6,
  multiplier: 1,
  history,
  lastBilled: { value: 405_618, date: '2026-11-07' },
  current: null,
  rate: { code: 'W-RES', fixedCharge: 14.5, unitCharge: 0.0061 },
  ...over,
});

describe('the bill explainer', () => {
  it('compares the last billed period per day with the one before and the same period last year', () => {
    const e = explainBill(input())!;
    expect(e.period).toMatchObject({ from: '2026-10-08', to: '2026-11-07', days: 30, units: 9_300, estimated: true });
    expect(e.previous).toMatchObject({ from: '2026-09-08', to: '2026-10-08', days: 30, units: 6_000 });
    // A year before 2026-11-07 is the period read on 2025-11-10 (within 20 days), 31 days long.
    expect(e.lastYear).toMatchObject({ to: '2025-11-10', days: 31, units: 6_200 });
    expect(e.changeFromPrevious).toBe(0.55);
    expect(e.changeFromLastYear).toBe(0.55);
    expect(e.estimatedCharge).toBe(71.23);
    expect(e.sentences).toEqual([
      'This period: 9,300 gal over 30 days (310 a day), estimated, 2026-10-08 to 2026-11-07',
      'Last period: 6,000 gal over 30 days (200 a day), actual read, 2026-09-08 to 2026-10-08; this period uses 55% more a day',
      'Same period last year: 6,200 gal over 31 days (200 a day), actual read, 2025-10-10 to 2025-11-10; this period uses 55% more a day',
      'Estimated charge $71.23 (W-RES: $14.50 a period plus 9,300 gal at $0.0061)',
    ]);
  });

  it('explains the period being read now from the read made here, across a rollover of the dials', () => {
    const e = explainBill(
      input({
        lastBilled: { value: 999_500, date: '2026-11-07' },
        current: { value: 5_500, date: '2026-12-07', estimated: false },
      }),
    )!;
    expect(e.period).toMatchObject({ from: '2026-11-07', to: '2026-12-07', days: 30, units: 6_000, estimated: false });
    expect(e.previous).toMatchObject({ to: '2026-11-07', units: 9_300 });
    expect(e.sentences[0]).toBe(
      'This period: 6,000 gal over 30 days (200 a day), actual read, 2026-11-07 to 2026-12-07',
    );
    expect(e.sentences[1]).toMatch(/; this period uses 35% less a day$/);
    // Nothing a year before 2026-12-07 within 20 days but 2025-12-10.
    expect(e.lastYear?.to).toBe('2025-12-10');
  });

  it('adds what the meter has used since, from AMI, as the bill that is coming', () => {
    const e = explainBill(input({ soFar: { units: 4_650, days: 15, to: '2026-11-22' } }))!;
    expect(e.soFar).toMatchObject({ perDay: 310, changeFromPrevious: 0 });
    expect(e.sentences).toContain(
      'Since that read (AMI, 15 days to 2026-11-22): 4,650 gal (310 a day); the next bill is running about the same a day',
    );
  });

  it('bills units times the multiplier and says so', () => {
    const e = explainBill(
      input({ unit: 'KWH', multiplier: 40, rate: { code: 'E-COM', fixedCharge: 42, unitCharge: 0.118 } }),
    )!;
    expect(e.estimatedCharge).toBe(43_938);
    expect(e.sentences).toContain("The meter's multiplier is 40: 372,000 kwh billed.");
  });

  it('says when there is nothing a year ago, and explains nothing without a period', () => {
    const short = explainBill(input({ history: history.slice(3) }))!;
    expect(short.lastYear).toBeNull();
    expect(short.sentences).toContain('No period a year ago to compare with.');
    expect(explainBill(input({ history: history.slice(0, 1) }))).toBeNull();
  });
});
