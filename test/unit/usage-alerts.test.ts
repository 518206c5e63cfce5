import { describe, expect, it } from 'vitest';
import {
  continuousFlow,
  goneQuiet,
  highUsage,
  nightFlow,
  reverseFlow,
  stoppedMeter,
  usageAlerts,
  type AlertSettings,
  type AlertSubject,
} from '../../src/core/usage-alerts.js';
import type { Interval } from '../../src/core/vee/types.js';

const ZONE = 'America/Chicago';
const at = (iso: string) => Date.parse(iso) / 1000;

/** `count` back-to-back intervals of `minutes` from `startIso`, valued by their start. */
function series(startIso: string, count: number, minutes: number, value: (start: number) => number): Interval[] {
  const out: Interval[] = [];
  for (let k = 0, t = at(startIso); k < count; k++, t += minutes * 60)
    out.push({ startAt: t, seconds: minutes * 60, value: value(t), quality: 'A', flags: null });
  return out;
}

function subject(intervals: Interval[], extra: Partial<AlertSubject> = {}): AlertSubject {
  const last = intervals[intervals.length - 1];
  return {
    meterId: 'W100',
    channel: 1,
    meterType: 'W',
    unit: 'GAL',
    accountActive: true,
    intervals,
    zone: ZONE,
    now: last ? last.startAt + last.seconds : at('2026-06-01T00:00:00Z'),
    ...extra,
  };
}

const localHour = (t: number) =>
  Number(new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hour: 'numeric', hourCycle: 'h23' }).format(t * 1000));

describe('continuous flow', () => {
  it('finds water that has run for 31 hours without a break and says so in plain words', () => {
    const list = series('2026-06-01T05:00:00Z', 31 * 4, 15, () => 0.4);
    const alert = continuousFlow(subject(list), { hours: 24 });
    expect(alert?.message).toBe('water has run for 31 hours without a break: check for a leak');
    expect(alert?.since).toBe(at('2026-06-01T05:00:00Z'));
  });

  it('is quiet under the threshold, and one interval of zero restarts the count', () => {
    expect(continuousFlow(subject(series('2026-06-01T05:00:00Z', 95, 15, () => 1)), { hours: 24 })).toBeNull();
    const list = series('2026-06-01T05:00:00Z', 40 * 4, 15, () => 1);
    list[20]!.value = 0;
    expect(continuousFlow(subject(list), { hours: 24 })?.measured).toBe(34);
    list[100]!.value = 0;
    expect(continuousFlow(subject(list), { hours: 24 })).toBeNull();
  });

  it('does not bridge a gap in the data or count estimated intervals as flow', () => {
    const gap = series('2026-06-01T05:00:00Z', 30 * 4, 15, () => 1);
    gap.splice(40, 1);
    expect(continuousFlow(subject(gap), { hours: 24 })).toBeNull();
    const estimated = series('2026-06-01T05:00:00Z', 30 * 4, 15, () => 1);
    estimated[40]!.quality = 'E';
    expect(continuousFlow(subject(estimated), { hours: 24 })).toBeNull();
  });

  it('counts real hours across the fall-back night: 24 hours of the clock are 25 of water', () => {
    // 2026-11-01 in Chicago has 25 hours: from midnight to midnight is 100 intervals.
    const list = series('2026-11-01T05:00:00Z', 100, 15, () => 1);
    expect(continuousFlow(subject(list), { hours: 25 })?.measured).toBe(25);
  });

  it('is about water only', () => {
    const list = series('2026-06-01T05:00:00Z', 30 * 4, 15, () => 1);
    expect(continuousFlow(subject(list, { meterType: 'E', unit: 'KWH' }), { hours: 24 })).toBeNull();
  });
});

describe('night flow', () => {
  const opts = { fromHour: 1, toHour: 5, nights: 3, minPerHour: { GAL: 1 } };
  // A house with a running toilet: 2 gal an hour all night, 30 in the evening.
  const leaky = (t: number) => (localHour(t) >= 18 ? 7.5 : 0.5);

  it('finds three nights in a row with every quiet hour at a leak rate', () => {
    const list = series('2026-06-01T05:00:00Z', 4 * 96, 15, leaky);
    const alert = nightFlow(subject(list), opts);
    expect(alert?.message).toBe(
      'at least 2 gal an hour ran every hour between 1 am and 5 am for 3 nights in a row: a leak, such as a ' +
        'running toilet, is likely',
    );
  });

  it('is quiet when one hour of one night drops below the rate', () => {
    const list = series('2026-06-01T05:00:00Z', 4 * 96, 15, leaky);
    // 03:00-04:00 local on June 3 (08:00Z): the toilet was fixed for an hour.
    for (const i of list)
      if (i.startAt >= at('2026-06-03T08:00:00Z') && i.startAt < at('2026-06-03T09:00:00Z')) i.value = 0;
    expect(nightFlow(subject(list), opts)).toBeNull();
  });

  it('passes over a night with missing data instead of counting it dry', () => {
    const list = series('2026-06-01T05:00:00Z', 5 * 96, 15, leaky);
    const gap = list.findIndex((i) => i.startAt === at('2026-06-04T08:00:00Z'));
    list.splice(gap, 1);
    // Nights of June 5, 3 and 2: June 4 was not read in full.
    expect(nightFlow(subject(list), opts)?.since).toBe(at('2026-06-02T06:00:00Z'));
  });

  it('reads the fall-back night as five real hours and the spring-forward night as three', () => {
    const fall = series('2026-10-30T05:00:00Z', 3 * 96 + 4, 15, leaky);
    expect(nightFlow(subject(fall), opts)).not.toBeNull();
    const spring = series('2026-03-06T06:00:00Z', 3 * 96 - 4, 15, leaky);
    expect(nightFlow(subject(spring), opts)).not.toBeNull();
  });

  it('checks only the units it has a rate for', () => {
    const list = series('2026-06-01T05:00:00Z', 4 * 96, 15, leaky);
    expect(nightFlow(subject(list, { unit: 'CF' }), opts)).toBeNull();
  });
});

describe('reverse flow', () => {
  it('finds intervals below zero in the last days', () => {
    const list = series('2026-06-01T05:00:00Z', 96, 15, () => 1);
    list[50]!.value = -3.25;
    const alert = reverseFlow(subject(list), { days: 7, tolerance: 0.01 });
    expect(alert?.measured).toBe(3.25);
    expect(alert?.message).toContain('the meter ran backwards (3.25 gal since Jun 1 at');
    expect(alert?.message).toContain('backflow');
  });

  it('ignores noise within the tolerance and reverse flow older than the window', () => {
    const list = series('2026-06-01T05:00:00Z', 96, 15, () => 1);
    list[10]!.value = -0.005;
    expect(reverseFlow(subject(list), { days: 7, tolerance: 0.01 })).toBeNull();
    list[10]!.value = -5;
    expect(reverseFlow(subject(list, { now: at('2026-06-20T00:00:00Z') }), { days: 7, tolerance: 0.01 })).toBeNull();
  });

  it('finds a register that reads lower than before, but not across a meter exchange', () => {
    const reads = [
      { at: at('2026-06-01T12:00:00Z'), value: 5000 },
      { at: at('2026-06-02T12:00:00Z'), value: 5040 },
      { at: at('2026-06-03T12:00:00Z'), value: 12 },
      { at: at('2026-06-04T12:00:00Z'), value: 60 },
    ];
    const s = subject([], { registerReads: reads, now: at('2026-06-05T00:00:00Z') });
    expect(reverseFlow(s, { days: 7, tolerance: 0.01 })?.measured).toBe(5028);
    // The new meter went in at noon on June 3: its 12 follows nothing of the old one's.
    const exchanged = usageAlerts({ ...s, since: at('2026-06-03T11:00:00Z') }, ALL_ON);
    expect(exchanged.map((a) => a.rule)).not.toContain('reverse-flow');
  });
});

describe('stopped meter', () => {
  it('finds an active account with nothing recorded for the days set, counting every zero day', () => {
    const list = series('2026-06-01T05:00:00Z', 20 * 96, 15, (t) => (t >= at('2026-06-10T05:00:00Z') ? 0 : 1));
    const alert = stoppedMeter(subject(list), { days: 7 });
    expect(alert?.message).toBe(
      'no water use has been recorded for 11 days on an active account: the meter may have stopped',
    );
    expect(alert?.since).toBe(at('2026-06-10T05:00:00Z'));
  });

  it('does not count today, an inactive account, or days filled with estimates', () => {
    const list = series('2026-06-01T05:00:00Z', 7 * 96 + 40, 15, () => 0);
    expect(stoppedMeter(subject(list), { days: 8 })).toBeNull();
    expect(stoppedMeter(subject(list), { days: 7 })?.measured).toBe(7);
    expect(stoppedMeter(subject(list, { accountActive: false }), { days: 7 })).toBeNull();
    list[300]!.quality = 'E';
    expect(stoppedMeter(subject(list), { days: 7 })).toBeNull();
  });

  it('needs the days on the new meter after an exchange', () => {
    const list = series('2026-06-01T05:00:00Z', 10 * 96, 15, () => 0);
    expect(stoppedMeter(subject(list), { days: 7 })).not.toBeNull();
    expect(usageAlerts(subject(list, { since: at('2026-06-06T05:00:00Z') }), ALL_ON).map((a) => a.rule)).not.toContain(
      'stopped-meter',
    );
  });
});

describe('high usage', () => {
  const opts = { days: 7, baselineDays: 30, minBaselineDays: 14, factor: 2 };

  it('finds a week at three times the usual month, in plain words', () => {
    const list = series('2026-05-01T05:00:00Z', 37 * 96, 15, (t) =>
      t >= at('2026-05-31T05:00:00Z') ? 0.9375 : 0.3125,
    );
    const alert = highUsage(subject(list), opts);
    expect(alert?.measured).toBe(3);
    expect(alert?.message).toBe(
      'use in the last 7 days is 3 times your usual (90 gal a day against 30): the next bill will be higher unless ' +
        'it comes down',
    );
  });

  it('counts a 23-hour DST day as a whole day of its own', () => {
    // 2026-03-08 is in the baseline, with 92 intervals: it is complete, and its total is its own.
    const list = series('2026-02-10T06:00:00Z', 37 * 96 - 4, 15, (t) => (t >= at('2026-03-12T05:00:00Z') ? 1 : 0.3125));
    expect(highUsage(subject(list), opts)).not.toBeNull();
  });

  it('is quiet under the factor, with too short a history, or after a meter exchange', () => {
    const flat = series('2026-05-01T05:00:00Z', 37 * 96, 15, () => 0.3125);
    expect(highUsage(subject(flat), opts)).toBeNull();
    const short = series('2026-05-21T05:00:00Z', 17 * 96, 15, (t) => (t >= at('2026-05-31T05:00:00Z') ? 1 : 0.3));
    expect(highUsage(subject(short), opts)).toBeNull();
    const high = series('2026-05-01T05:00:00Z', 37 * 96, 15, (t) => (t >= at('2026-05-31T05:00:00Z') ? 1 : 0.3));
    expect(usageAlerts(subject(high, { since: at('2026-05-25T05:00:00Z') }), ALL_ON).map((a) => a.rule)).not.toContain(
      'high-usage',
    );
  });
});

describe('gone quiet', () => {
  it('finds an active meter with no data for the hours set', () => {
    const list = series('2026-06-01T05:00:00Z', 96, 15, () => 1);
    const alert = goneQuiet(subject(list, { now: at('2026-06-04T07:00:00Z') }), { hours: 48 });
    expect(alert?.message).toBe('the meter has sent no readings since Jun 2 at 12 AM (50 hours)');
    expect(goneQuiet(subject(list, { now: at('2026-06-02T20:00:00Z') }), { hours: 48 })).toBeNull();
    expect(
      goneQuiet(subject(list, { now: at('2026-06-04T07:00:00Z'), accountActive: false }), { hours: 48 }),
    ).toBeNull();
  });
});

const on = { enabled: true, exception: true, workOrder: false };
const ALL_ON: AlertSettings = {
  continuousFlow: { ...on, hours: 24 },
  nightFlow: { ...on, fromHour: 1, toHour: 5, nights: 3, minPerHour: { GAL: 1 } },
  reverseFlow: { ...on, days: 7, tolerance: 0.01 },
  stoppedMeter: { ...on, days: 7 },
  highUsage: { ...on, days: 7, baselineDays: 30, minBaselineDays: 14, factor: 2 },
  goneQuiet: { ...on, hours: 48 },
};

describe('every rule at once', () => {
  it('gives a leaking house its leak alerts and nothing else, and a rule turned off gives nothing', () => {
    const list = series('2026-06-01T05:00:00Z', 5 * 96, 15, () => 1);
    expect(
      usageAlerts(subject(list), ALL_ON)
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['continuous-flow', 'night-flow']);
    const off = { ...ALL_ON, nightFlow: { ...ALL_ON.nightFlow, enabled: false } };
    expect(usageAlerts(subject(list), off).map((a) => a.rule)).toEqual(['continuous-flow']);
  });
});
