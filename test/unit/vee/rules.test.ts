import { describe, expect, it } from 'vitest';
import type { VeeConfig } from '../../../src/core/vee/config.js';
import { fillGaps } from '../../../src/core/vee/estimate.js';
import { historicalProfile } from '../../../src/core/vee/profile.js';
import { checkDayAgainstHistory, dailyTotals, intervalsInDay, zeroRuns } from '../../../src/core/vee/rules/daily.js';
import { removeDuplicates } from '../../../src/core/vee/rules/duplicates.js';
import { checkIntervalSize } from '../../../src/core/vee/rules/interval-size.js';
import { removeNegative } from '../../../src/core/vee/rules/negative.js';
import { checkRegisterAdvance } from '../../../src/core/vee/rules/register-advance.js';
import { flagSpikes } from '../../../src/core/vee/rules/spike.js';
import { sumCheck } from '../../../src/core/vee/rules/sum-check.js';
import { checkMultiplier, checkUnit, unitFactor } from '../../../src/core/vee/rules/units.js';
import type { Interval } from '../../../src/core/vee/types.js';
import { validateSeries } from '../../../src/core/vee/validate-series.js';

const T0 = Date.UTC(2026, 5, 1, 5) / 1000; // 2026-06-01 00:00 in Chicago
const iv = (k: number, value: number, extra: Partial<Interval> = {}): Interval => ({
  startAt: T0 + k * 900,
  seconds: 900,
  value,
  quality: 'A',
  flags: null,
  ...extra,
});
const run = (values: number[]) => values.map((v, k) => iv(k, v));
const VEE: VeeConfig = {
  maxLinearGapMinutes: 60,
  historyWeeks: 4,
  spike: { factor: 10, window: 8, minValue: 1 },
  daily: { highFactor: 3, lowFactor: 0.2, historyDays: 28, minHistoryDays: 7 },
  zeroDays: 3,
  sumTolerance: 0.02,
};

describe('VEE rules', () => {
  it('duplicates: an exact repeat is dropped quietly, a different one kept first and reported', () => {
    const r = removeDuplicates([iv(0, 1), iv(0, 1), iv(1, 2), iv(1, 3)]);
    expect(r.intervals.map((x) => x.value)).toEqual([1, 2]);
    expect(r.findings).toEqual([expect.objectContaining({ rule: 'DUPLICATE_INTERVAL', at: T0 + 900, value: 3 })]);
  });

  it('interval size: a wrong length or an off-grid start is taken out with a finding', () => {
    const r = checkIntervalSize([iv(0, 1), iv(1, 1, { seconds: 1800 }), { ...iv(2, 1), startAt: T0 + 1810 }], 900);
    expect(r.intervals).toHaveLength(1);
    expect(r.findings.map((f) => [f.rule, f.field])).toEqual([
      ['INTERVAL_SIZE', 'duration'],
      ['INTERVAL_SIZE', 'start'],
    ]);
  });

  it('negative consumption is taken out to be estimated, and reported with the value received', () => {
    const r = removeNegative(run([1, -4, 1]));
    expect(r.intervals.map((x) => x.value)).toEqual([1, 1]);
    expect([...r.removed]).toEqual([T0 + 900]);
    expect(r.findings[0]).toMatchObject({ rule: 'NEGATIVE_CONSUMPTION', value: -4 });
  });

  it('spike: above factor × the neighbours’ median and above the minimum; a busy hour is not a spike', () => {
    const xs = run([0.5, 0.6, 0.5, 30, 0.5, 0.6, 0.4, 0.5]);
    const f = flagSpikes(xs, VEE.spike);
    expect(f.map((x) => x.at)).toEqual([T0 + 3 * 900]);
    expect(xs[3]!.flags).toBe('SPIKE');
    expect(flagSpikes(run([2, 3, 4, 5, 6, 7, 8]), VEE.spike)).toEqual([]);
    expect(flagSpikes(run([0.01, 0.01, 0.9, 0.01, 0.01]), VEE.spike)).toEqual([]); // under minValue
  });

  it('estimation: linear up to the limit, the same-day-type profile beyond, nothing past a week', () => {
    const linear = fillGaps([iv(0, 1), iv(4, 5)], 900, { maxLinearSeconds: 3600 });
    expect(linear.intervals.map((x) => [x.value, x.quality, x.flags])).toEqual([
      [1, 'A', null],
      [2, 'E', 'MISSING,EST:LINEAR'],
      [3, 'E', 'MISSING,EST:LINEAR'],
      [4, 'E', 'MISSING,EST:LINEAR'],
      [5, 'A', null],
    ]);
    const history = fillGaps([iv(0, 1), iv(10, 1)], 900, {
      maxLinearSeconds: 3600,
      profile: (at) => (at - T0) / 900 / 10,
    });
    expect(history.intervals.filter((x) => x.quality === 'E').map((x) => [x.value, x.flags])).toEqual(
      Array.from({ length: 9 }, (_, k) => [(k + 1) / 10, 'MISSING,EST:HISTORY']),
    );
    const none = fillGaps([iv(0, 1), iv(10, 1)], 900, { maxLinearSeconds: 3600 });
    expect(none.intervals).toHaveLength(2);
    expect(none.findings[0]).toMatchObject({ rule: 'MISSING_INTERVALS', severity: 'error' });
    const week = fillGaps([iv(0, 1), iv(8 * 96, 1)], 900, { maxLinearSeconds: 3600, profile: () => 1 });
    expect(week.intervals).toHaveLength(2);
    expect(week.findings[0]!.message).toMatch(/too long to estimate/);
    const why = fillGaps([iv(0, 1), iv(2, 1)], 900, {
      maxLinearSeconds: 3600,
      removedBy: new Map([[T0 + 900, 'NEGATIVE']]),
    });
    expect(why.intervals[1]!.flags).toBe('NEGATIVE,EST:LINEAR');
  });

  it('the historical profile averages actual intervals by day type and local time of day', () => {
    const monday = Date.UTC(2026, 5, 1, 5) / 1000;
    const history = [0, 1, 2, 7].flatMap((d) => [iv(0, 0, { startAt: monday + d * 86_400, value: d + 1 })]);
    const profile = historicalProfile(history, 'America/Chicago');
    // Monday 00:00: the weekdays at midnight (Mon 1, Tue 2, Wed 3, next Mon 8) average 3.5.
    expect(profile(monday + 14 * 86_400)).toBe(3.5);
    expect(profile(monday + 5 * 86_400)).toBeNull(); // a Saturday: no Saturday history
  });

  it('daily totals follow local days: 23 and 25 hours on DST days', () => {
    const spring = Date.UTC(2026, 2, 8, 6) / 1000;
    const xs = Array.from({ length: 92 + 96 }, (_, k) => ({
      startAt: spring + k * 900,
      seconds: 900,
      value: 1,
      quality: 'A' as const,
      flags: null,
    }));
    const days = dailyTotals(xs, 'America/Chicago');
    expect(days.map((d) => [d.date, d.intervals, intervalsInDay(d, 900)])).toEqual([
      ['2026-03-08', 92, 92],
      ['2026-03-09', 96, 96],
    ]);
    const fall = Date.UTC(2026, 10, 1, 5) / 1000;
    expect(
      intervalsInDay(
        dailyTotals([{ startAt: fall, seconds: 900, value: 1, quality: 'A', flags: null }], 'America/Chicago')[0]!,
        900,
      ),
    ).toBe(100);
  });

  it('high and low days against the recent average; zero runs of N days', () => {
    const day = { date: '2026-06-01', dayStart: T0, dayEnd: T0 + 86_400, total: 40, intervals: 96, estimated: 0 };
    expect(checkDayAgainstHistory(day, 10, VEE.daily)[0]).toMatchObject({ rule: 'HIGH_USAGE', value: 40 });
    expect(checkDayAgainstHistory({ ...day, total: 1 }, 10, VEE.daily)[0]).toMatchObject({ rule: 'LOW_USAGE' });
    expect(checkDayAgainstHistory(day, null, VEE.daily)).toEqual([]);
    const zero = (date: string, total: number) => ({ ...day, date, total });
    const runs = zeroRuns([zero('a', 0), zero('b', 0), zero('c', 0), zero('d', 0), zero('e', 5), zero('f', 0)], 3);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.message).toMatch(/no consumption for 3 days in a row up to c/);
  });

  it('register advance: rollover the short way round, backwards otherwise', () => {
    expect(checkRegisterAdvance(9990, 14, 4)).toMatchObject({
      units: 24,
      findings: [expect.objectContaining({ rule: 'ROLLOVER' })],
    });
    expect(checkRegisterAdvance(5000, 4000, 4)).toMatchObject({
      units: -1000,
      findings: [expect.objectContaining({ rule: 'NEGATIVE_REGISTER' })],
    });
    expect(checkRegisterAdvance(100, 150, 4)).toEqual({ units: 50, findings: [] });
  });

  it('sum check: intervals against the register advance, within the tolerance', () => {
    expect(sumCheck(24.3, 24, 0.02)).toEqual([]);
    expect(sumCheck(192, 500, 0.02)[0]).toMatchObject({ rule: 'SUM_CHECK', value: 192 });
  });

  it('units convert within a commodity and not across; a stated multiplier must match billing', () => {
    expect(unitFactor('WH', 'KWH')).toBe(0.001);
    expect(unitFactor('CCF', 'CF')).toBeCloseTo(100, 9);
    expect(unitFactor('m3', 'GAL')).toBeCloseTo(264.172052, 6);
    expect(checkUnit('KWH', 'GAL')).toMatchObject({
      factor: null,
      findings: [expect.objectContaining({ rule: 'UNIT', value: 'KWH' })],
    });
    expect(checkMultiplier(1, 40)).toEqual([]);
    expect(checkMultiplier(40, 40)).toEqual([]);
    expect(checkMultiplier(20, 40)[0]).toMatchObject({ rule: 'MULTIPLIER', value: 20 });
  });

  it('validateSeries runs the rules in order on an unsorted delivery and counts what it estimated', () => {
    const xs = [iv(3, 1), iv(0, 1), iv(0, 1), iv(1, -2), iv(2, 1), iv(4, 1, { seconds: 1800 }), iv(6, 1)];
    const r = validateSeries(xs, 900, VEE);
    expect(r.intervals.map((x) => [(x.startAt - T0) / 900, x.quality, x.flags])).toEqual([
      [0, 'A', null],
      [1, 'E', 'NEGATIVE,EST:LINEAR'],
      [2, 'A', null],
      [3, 'A', null],
      [4, 'E', 'MISSING,EST:LINEAR'],
      [5, 'E', 'MISSING,EST:LINEAR'],
      [6, 'A', null],
    ]);
    expect(r.estimated).toBe(3);
    expect(r.findings.map((f) => f.rule)).toEqual([
      'INTERVAL_SIZE',
      'NEGATIVE_CONSUMPTION',
      'MISSING_INTERVALS',
      'MISSING_INTERVALS',
    ]);
  });
});
