import { describe, expect, it } from 'vitest';
import { csvRecord, parseCsvRecord } from '../../src/core/csv/csv.js';
import { headerIndex, readRouteRecord, ROUTE_FIELDS } from '../../src/core/csv/cis-layout.js';

describe('CSV records (RFC 4180)', () => {
  it('reads quoted fields with delimiters and doubled quotes, and empty fields at either end', () => {
    expect(parseCsvRecord('a,"b,c","say ""hi""",,')).toEqual({ ok: true, fields: ['a', 'b,c', 'say "hi"', '', ''] });
    expect(parseCsvRecord(',x')).toEqual({ ok: true, fields: ['', 'x'] });
    expect(parseCsvRecord('a;b', ';')).toEqual({ ok: true, fields: ['a', 'b'] });
  });

  it('says what is wrong with a record it cannot read, naming the column', () => {
    expect(parseCsvRecord('a,"b')).toEqual({ ok: false, reason: 'a quoted field is not closed (from column 2)' });
    expect(parseCsvRecord('a,"b"c')).toEqual({
      ok: false,
      reason: "text after a quoted field's closing quote (column 2)",
    });
    expect(parseCsvRecord('a,b"c')).toEqual({ ok: false, reason: 'a quote inside an unquoted field (column 2)' });
  });

  it('writes what it reads back, quoting only what needs it', () => {
    const fields = ['plain', 'with,comma', 'with "quote"', 'line\r\nbreak', '', 42];
    const text = csvRecord(fields);
    expect(text).toBe('plain,"with,comma","with ""quote""","line\r\nbreak",,42');
    expect(parseCsvRecord(text)).toEqual({ ok: true, fields: fields.map(String) });
  });
});

describe('a CIS route record against its layout', () => {
  const columns = Object.fromEntries(ROUTE_FIELDS.map((f) => [f, f.toUpperCase()]));
  const header = ROUTE_FIELDS.map((f) => f.toUpperCase());
  const { index, missing } = headerIndex(columns, header);
  const fields = (over: Partial<Record<(typeof ROUTE_FIELDS)[number], string>>) =>
    ROUTE_FIELDS.map((f) => over[f] ?? '');
  const good = {
    route: 'R1',
    accountNo: 'A1',
    meterId: 'M1',
    register: '1',
    dials: '4',
    prevRead: '9990',
    prevReadDate: '2026-10-23',
  };

  it('fills what a CIS leaves out with what fieldgate can say for sure', () => {
    expect(missing).toEqual([]);
    const { record } = readRouteRecord(fields({ ...good, meterType: 'electric', readDate: '2026-11-23' }), index, 3);
    expect(record).toMatchObject({
      sequence: 30,
      meterType: 'E',
      uom: 'KWH',
      multiplier: 1,
      serial: 'M1',
      cycle: 11,
      accountStatus: 'A',
    });
  });

  it('names every field that is wrong, and reads nothing of the record', () => {
    const { record, problems } = readRouteRecord(
      fields({ ...good, dials: '4', prevRead: '12000', prevReadDate: '23/10/2026', meterType: 'steam', accountNo: '' }),
      index,
      1,
    );
    expect(record).toBeNull();
    expect(problems.map((p) => p.field)).toEqual(['accountNo', 'prevRead', 'prevReadDate', 'meterType']);
    expect(problems[1]!.message).toBe('a 4-dial register reads at most 9999');
  });

  it('finds the columns by header, in any order and case, and names the ones a file lacks', () => {
    const h = headerIndex({ route: 'ROUTE', meterId: 'METER' }, ['meter', 'x', 'Route ']);
    expect(h).toEqual({ index: { route: 2, meterId: 0 }, missing: [] });
    expect(headerIndex({ route: 'ROUTE', meterId: 'METER' }, ['ROUTE'], ['meterId']).missing).toEqual(['METER']);
    // An optional column a CIS does not write is simply empty.
    expect(headerIndex({ route: 'ROUTE', meterId: 'METER' }, ['ROUTE'], ['route']).missing).toEqual([]);
  });
});
