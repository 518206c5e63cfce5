import { describe, expect, it } from 'vitest';
import { parseWmbusmeters, type WmbusParse } from '../../adapters/ami-mqtt/wmbusmeters.js';
import configDefaults from '../../config/defaults.json' with { type: 'json' };

/**
 * wmbusmeters' JSON as its documentation and driver tests show it (shapes written here): the
 * current register by unit, history pairs and arrays dated to the end of their day, and a field
 * that is absent or null is missing, never zero.
 */
const T = Date.parse('2026-11-23T06:00:05Z') / 1000;
const opts = {
  window: { from: T - 86_400, to: T + 3600 },
  totalFields: configDefaults.ami.wmbusmeters.totalFields,
};
const parse = (m: Record<string, unknown>): WmbusParse => parseWmbusmeters(JSON.stringify(m), opts);
const ok = (m: Record<string, unknown>) => {
  const r = parse(m);
  if (!r.ok) throw new Error(`${r.field}: ${r.message}`);
  return r.telegram;
};
const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;

describe('wmbusmeters telegrams', () => {
  it('reads a water meter: the total now, the due-date value at the end of its day', () => {
    const t = ok({
      _: 'telegram',
      media: 'cold water',
      meter: 'multical21',
      name: 'Tap',
      id: '76348799',
      status: 'DRY',
      total_m3: 6.408,
      target_m3: 6.1,
      target_date: '2026-11-01',
      flow_temperature_c: 127,
      timestamp: '2026-11-23T06:00:05Z',
    });
    expect(t).toMatchObject({ meterId: '76348799', driver: 'multical21', media: 'cold water', receivedAt: T });
    expect(t.readings).toEqual([
      { field: 'total_m3', unit: 'M3', at: T, value: 6.408, history: false },
      { field: 'target_m3', unit: 'M3', at: day('2026-11-02'), value: 6.1, history: true },
    ]);
  });

  it('takes each unit of a heat meter, the first preferred field of each, and history dated by a shorter name', () => {
    const t = ok({
      _: 'telegram',
      media: 'heat',
      driver: 'sharky775',
      id: '69130084',
      total_energy_consumption_kwh: 7831.56,
      total_energy_consumption_tariff1_kwh: 0,
      total_volume_m3: 1531.4762,
      power_kw: 227.06,
      target_energy_consumption_kwh: 7812.4,
      target_volume_m3: 1524.9552,
      target_date: '2026-10-31',
      timestamp: '2026-11-23T06:00:05Z',
    });
    expect(t.driver).toBe('sharky775');
    expect(t.readings.map((r) => [r.field, r.unit, r.value, r.at])).toEqual([
      ['total_volume_m3', 'M3', 1531.4762, T],
      ['total_energy_consumption_kwh', 'KWH', 7831.56, T],
      ['target_energy_consumption_kwh', 'KWH', 7812.4, day('2026-11-01')],
      ['target_volume_m3', 'M3', 1524.9552, day('2026-11-01')],
    ]);
  });

  it('reads numbered history and history arrays, up to a bound', () => {
    const t = ok({
      id: '04030201',
      total_m3: 1.013,
      history_1_m3: 0.755,
      history_1_date: '2026-10-31',
      history_2_m3: 0.423,
      history_2_date: '2026-09-30 00:00',
      monthly_m3: [0.9, null, 0.5],
      monthly_date: ['2026-10-31', '2026-09-30', '2026-08-31'],
      timestamp: '2026-11-23T06:00:05Z',
    });
    expect(t.readings.map((r) => [r.field, r.value, r.at])).toEqual([
      ['total_m3', 1.013, T],
      ['history_1_m3', 0.755, day('2026-11-01')],
      ['history_2_m3', 0.423, day('2026-10-01')],
      ['monthly_m3[0]', 0.9, day('2026-11-01')],
      ['monthly_m3[2]', 0.5, day('2026-09-01')],
    ]);
    const long = ok({
      id: '1',
      h_m3: Array.from({ length: 500 }, () => 1),
      h_date: Array.from({ length: 500 }, () => '2026-10-31'),
      timestamp: '2026-11-23T06:00:05Z',
    });
    expect(long.readings).toHaveLength(64);
  });

  it('treats a field that is absent, null or not a number as missing, never zero', () => {
    const t = ok({
      id: '76348799',
      total_m3: null,
      target_m3: 'n/a',
      target_date: '2026-11-01',
      current_status: 'OK',
      timestamp: '2026-11-23T06:00:05Z',
    });
    expect(t.readings).toEqual([]);
    // A value without its date has no time: missing too.
    expect(ok({ id: '1', history_1_m3: 4, timestamp: '2026-11-23T06:00:05Z' }).readings).toEqual([]);
  });

  it('names the field of a bad telegram', () => {
    expect(parseWmbusmeters('{"id":', opts)).toMatchObject({ ok: false, field: '(json)' });
    expect(parseWmbusmeters('[1]', opts)).toMatchObject({ ok: false, field: '(message)' });
    expect(parse({ total_m3: 1, timestamp: '2026-11-23T06:00:05Z' })).toMatchObject({ ok: false, field: 'id' });
    expect(parse({ id: 'a/b#', total_m3: 1, timestamp: '2026-11-23T06:00:05Z' })).toMatchObject({
      ok: false,
      field: 'id',
    });
    expect(parse({ id: '1', total_m3: 1, timestamp: '2026-11-23 06:00:05' })).toMatchObject({
      ok: false,
      field: 'timestamp',
      message: 'expected a UTC time such as 2026-11-23T06:00:05Z',
    });
    // wmbusmeters prints this when it has no time to give.
    expect(parse({ id: '1', total_m3: 1, timestamp: '1111-11-11T11:11:11Z' })).toEqual({
      ok: false,
      field: 'timestamp',
      message:
        "1111-11-11T11:11:11Z is before the window of accepted times (2026-11-22T06:00:05Z to 2026-11-23T07:00:05Z, ami.wmbusmeters); is the receiver's clock set?",
    });
  });
});
