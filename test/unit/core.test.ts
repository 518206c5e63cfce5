import { describe, expect, it } from 'vitest';
import { consumption, wrapOnDials } from '../../src/core/consumption.js';
import { computeLimits, expectedDailyUse } from '../../src/core/limits.js';
import { localToUtc, utcToLocalDigits } from '../../src/core/local-time.js';
import { checkRead, type RouteLine } from '../../src/core/reading-checks.js';
import { transition } from '../../src/core/route-state.js';

const ZONE = 'America/Chicago';

describe('consumption with dial rollover', () => {
  it('counts a 4-dial register going 9,950 → 0,030 as 80 units, not negative', () => {
    expect(consumption(9950, 30, 4)).toEqual({ units: 80, rollover: true, negative: false });
  });
  it('takes a small step back as negative consumption, not a rollover', () => {
    expect(consumption(5000, 4990, 4)).toEqual({ units: -10, rollover: false, negative: true });
  });
  it('is the plain difference otherwise', () => {
    expect(consumption(120, 450, 5)).toEqual({ units: 330, rollover: false, negative: false });
    expect(wrapOnDials(10_030, 4)).toBe(30);
  });
});

describe('local time in the utility zone', () => {
  it('converts a wall-clock read time to UTC', () => {
    expect(localToUtc('20261123081500', ZONE)).toEqual({ ok: true, utc: '2026-11-23T14:15:00.000Z', ambiguous: false });
    expect(utcToLocalDigits('2026-11-23T14:15:00.000Z', ZONE)).toBe('20261123081500');
  });
  it('refuses a time inside the spring-forward gap', () => {
    const r = localToUtc('20260308023000', ZONE);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/2026-03-08 02:30:00 does not exist in America\/Chicago/);
  });
  it('accepts the repeated fall-back hour as its first occurrence and says it was ambiguous', () => {
    expect(localToUtc('20261101013000', ZONE)).toEqual({ ok: true, utc: '2026-11-01T06:30:00.000Z', ambiguous: true });
  });
  it('refuses dates that do not exist', () => {
    expect(localToUtc('20260230120000', ZONE).ok).toBe(false);
  });
});

describe('high/low limits from history', () => {
  const settings = { historyPeriods: 3, lowFactor: 0.25, highFactor: 2.5, minHighSpan: 20 };
  const monthly = (perDay: number, months = 4) =>
    Array.from({ length: months }, (_, i) => ({
      date: new Date(Date.UTC(2026, 5, 3) + i * 30 * 86_400_000).toISOString().slice(0, 10),
      consumption: Math.round(perDay * 30),
    }));

  it("follows each account's own use, so two registers with the same previous read get different limits", () => {
    const input = { prevRead: 1000, prevReadDate: '2026-10-01', scheduledReadDate: '2026-10-31', dials: 6 };
    const small = computeLimits({ ...input, history: monthly(10) }, settings);
    const large = computeLimits({ ...input, history: monthly(100) }, settings);
    expect(small.expectedUnits).toBe(300);
    expect(small).toMatchObject({ low: 1075, high: 1750 });
    expect(large).toMatchObject({ low: 1750, high: 8500, expectedUnits: 3000 });
  });

  it('blends in the same season last year', () => {
    const history = [
      { date: '2025-10-01', consumption: 0 },
      { date: '2025-10-31', consumption: 900 },
      { date: '2026-08-31', consumption: 0 },
      { date: '2026-09-30', consumption: 300 },
    ];
    expect(expectedDailyUse(history, '2026-10-31', 1)).toBeCloseTo((300 / 30 + 900 / 30) / 2, 5);
  });

  it('wraps limits on the dials and never spans the whole dial', () => {
    const limits = computeLimits(
      { prevRead: 9950, prevReadDate: '2026-10-01', scheduledReadDate: '2026-10-31', dials: 4, history: monthly(20) },
      settings,
    );
    expect(limits.high).toBe((9950 + 1500) % 10_000);
    const huge = computeLimits(
      { prevRead: 5, prevReadDate: '2026-10-01', scheduledReadDate: '2026-10-31', dials: 2, history: monthly(50) },
      settings,
    );
    expect(huge.high).toBe(4);
  });

  it('uses a minimum window for a register with no history', () => {
    expect(
      computeLimits(
        { prevRead: 50, prevReadDate: '2026-10-01', scheduledReadDate: '2026-10-31', dials: 4, history: [] },
        settings,
      ),
    ).toEqual({ low: 50, high: 70, expectedUnits: 0 });
  });
});

describe('route state machine', () => {
  it('walks ready → loaded → uploaded → committed → cleared', () => {
    let s = 'ready' as Parameters<typeof transition>[0];
    for (const [event, next] of [
      ['load', 'loaded'],
      ['upload', 'uploaded'],
      ['commit', 'committed'],
      ['clear', 'cleared'],
    ] as const) {
      const r = transition(s, event);
      expect(r).toEqual({ ok: true, state: next });
      s = next;
    }
  });
  it('refuses a forbidden step with a reason a CSR can read', () => {
    expect(transition('ready', 'clear')).toEqual({
      ok: false,
      reason: 'cannot clear a route that is ready (allowed from: committed, cleared)',
    });
    expect(transition('loaded', 'load').ok).toBe(false);
  });
});

describe('reading checks', () => {
  const line: RouteLine = {
    sequence: 1,
    account: 'A-1',
    meterId: 'W1',
    register: 1,
    dials: 4,
    prevRead: 9950,
    lowLimit: 9960,
    highLimit: 150,
  };
  const ctx = {
    zone: ZONE,
    now: new Date('2026-11-23T18:00:00Z'),
    codes: { read: { HC: '', LC: '', RK: '' }, skip: { DOG: 'Dog in yard' }, trouble: { LEAK: 'Leak' } },
  };
  const rec = (over: Record<string, unknown>) => ({
    account: 'A-1',
    meter_id: 'W1',
    register: 1,
    reading: 30,
    read_at: '20261123091500',
    read_code: null,
    skip_code: null,
    trouble_code: null,
    ...over,
  });

  it('accepts a rollover read inside the limits as valid with its consumption', () => {
    expect(checkRead(rec({}), line, ctx)).toEqual({
      findings: [],
      read: { status: 'valid', readAtUtc: '2026-11-23T15:15:00.000Z', reading: 30, consumption: 80, rollover: true },
    });
  });
  it('holds a high read for review, but lets a reader-confirmed one through with a note', () => {
    const held = checkRead(rec({ reading: 900 }), line, ctx);
    expect(held.read?.status).toBe('held');
    expect(held.findings).toEqual([
      {
        kind: 'HIGH_READ',
        field: 'reading',
        value: '900',
        message: '950 units used since the last read of 9950; the high limit allows 200 (a reading up to 150)',
      },
    ]);
    const confirmed = checkRead(rec({ reading: 900, read_code: 'HC' }), line, ctx);
    expect(confirmed.read?.status).toBe('valid');
    expect(confirmed.findings[0]?.kind).toBe('HIGH_READ_CONFIRMED');
  });
  it('holds a low read and a read that went backwards', () => {
    expect(checkRead(rec({ reading: 9955 }), line, ctx).findings[0]?.kind).toBe('LOW_READ');
    const back = checkRead(rec({ reading: 9900 }), line, ctx);
    expect(back.findings[0]).toMatchObject({ kind: 'NEGATIVE_CONSUMPTION', field: 'reading' });
    expect(back.read?.status).toBe('held');
  });
  it('stores a skip with its code, not as a read', () => {
    const r = checkRead(rec({ reading: null, skip_code: 'DOG' }), line, ctx);
    expect(r.read?.status).toBe('skipped');
    expect(r.findings).toEqual([{ kind: 'SKIPPED', field: 'skip_code', value: 'DOG', message: 'Dog in yard' }]);
  });
  it('rejects a read time in the DST gap, or a value with too many digits', () => {
    expect(checkRead(rec({ read_at: '20260308023000' }), line, ctx).read).toBeNull();
    expect(checkRead(rec({ reading: 10_000 }), line, ctx).findings[0]).toMatchObject({
      kind: 'TOO_MANY_DIGITS',
      field: 'reading',
    });
  });
  // Fault suite finding: after the gateway's clock stepped back 108 minutes, every reading of the
  // next dock was "in the future", rejected and kept only as exception text, while the device was cleared.
  it(
    "fault finding clock stepped back: holds a read timed ahead of the gateway's clock for a CSR, keeping the " +
      'read',
    () => {
      const ahead = checkRead(rec({ read_at: '20261124091500' }), line, ctx);
      expect(ahead.findings[0]).toMatchObject({
        kind: 'FUTURE_READ',
        field: 'read_at',
        message: expect.stringMatching(/min ahead of this gateway's clock/),
      });
      expect(ahead.read).toMatchObject({ status: 'held', reading: 30, readAtUtc: expect.any(String) });
    },
  );
  it("rejects a line whose account is not the meter's account on the route", () => {
    expect(checkRead(rec({ account: 'B-2' }), line, ctx).findings[0]).toMatchObject({
      kind: 'ACCOUNT_MISMATCH',
      field: 'account',
      value: 'B-2',
    });
  });
  it('holds a read carrying an unknown code and keeps trouble codes visible', () => {
    expect(checkRead(rec({ skip_code: 'XXXX' }), line, ctx).findings[0]).toMatchObject({
      kind: 'UNKNOWN_CODE',
      field: 'skip_code',
    });
    const trouble = checkRead(rec({ trouble_code: 'LEAK' }), line, ctx);
    expect(trouble.read?.status).toBe('valid');
    expect(trouble.findings[0]).toMatchObject({ kind: 'TROUBLE', value: 'LEAK' });
  });
});
