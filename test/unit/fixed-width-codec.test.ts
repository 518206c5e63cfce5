import { describe, expect, it } from 'vitest';
import {
  decodeLine,
  encodeFile,
  encodeLine,
  EncodeError,
  splitLines,
  toAscii,
} from '../../src/core/fixed-width/codec.js';
import { parseLayout } from '../../src/core/fixed-width/layout.js';
import { listLayouts, loadLayout } from '../../src/infra/config/layouts.js';
import { ConfigError } from '../../src/errors.js';

const dir = 'config/layouts';
const route = loadLayout(dir, 'route-v1');
const read = loadLayout(dir, 'read-v1');

const routeRecord = {
  sequence: 12,
  account: '0001234-01',
  meter_id: 'W0001234',
  meter_serial: 'NP12345678',
  register: 1,
  address: '1331 Lake Rd',
  customer: 'José Peña',
  meter_type: 'W',
  dials: 4,
  prev_read: 9950,
  low_limit: 9990,
  high_limit: 120,
  ert_id: '45678901',
  location: 'Back yard by fence',
};

describe('fixed-width layouts', () => {
  it('ships route-v1, read-v1 and a second hand-held brand as data', () => {
    expect(listLayouts(dir)).toEqual(expect.arrayContaining(['route-v1', 'read-v1', 'sensus-autoread']));
    expect(route.lineLength).toBe(174);
    expect(read.lineLength).toBe(139);
    expect(loadLayout(dir, 'sensus-autoread').lineLength).toBe(155);
  });

  it('refuses a layout whose fields overlap or run past the line, naming them', () => {
    const bad = {
      name: 'x',
      lineLength: 10,
      lineEnding: '\r\n',
      fields: [
        { name: 'a', start: 1, length: 5, type: 'string' },
        { name: 'b', start: 4, length: 8, type: 'string' },
      ],
    };
    expect(() => parseLayout(bad, 'x.json')).toThrow(ConfigError);
    expect(() => parseLayout(bad, 'x.json')).toThrow(/fields a and b overlap/);
    expect(() => parseLayout(bad, 'x.json')).toThrow(/field b ends at 11, past lineLength 10/);
  });

  it('names the known layouts when one is missing', () => {
    expect(() => loadLayout(dir, 'nope')).toThrow(/layout 'nope' not found .*route-v1/);
  });
});

describe('encode and decode', () => {
  it('round-trips a route line at the columns of formats.md', () => {
    const line = encodeLine(route, routeRecord);
    expect(line).toHaveLength(174);
    expect(line.slice(0, 5)).toBe('00012');
    expect(line.slice(5, 20)).toBe('0001234-01     ');
    expect(line.slice(101, 102)).toBe('W');
    expect(line.slice(104, 114)).toBe('0000009950');
    const { record, errors } = decodeLine(route, line, 1);
    expect(errors).toEqual([]);
    expect(record).toMatchObject({
      sequence: 12,
      meter_id: 'W0001234',
      prev_read: 9950,
      high_limit: 120,
      customer: 'Jose Pena',
      dials: 4,
    });
  });

  it('writes ASCII only: accents stripped, anything else replaced', () => {
    expect(toAscii('José Peña – Ünit')).toBe('Jose Pena ? Unit');
  });

  it('truncates long names where the layout says so, and refuses elsewhere naming the field', () => {
    expect(encodeLine(route, { ...routeRecord, customer: 'A'.repeat(40) }).slice(76, 101)).toBe('A'.repeat(25));
    expect(() => encodeLine(route, { ...routeRecord, meter_id: 'M'.repeat(13) }, 7)).toThrow(EncodeError);
    expect(() => encodeLine(route, { ...routeRecord, meter_id: 'M'.repeat(13) }, 7)).toThrow(
      /record 7, field meter_id: longer than 12/,
    );
    expect(() => encodeLine(route, { ...routeRecord, meter_type: 'X' })).toThrow(
      /field meter_type: expected one of W, E, G/,
    );
  });

  it('maps logical names to a vendor layout through `from`', () => {
    const sensus = loadLayout(dir, 'sensus-autoread');
    const line = encodeLine(sensus, { ...routeRecord, city: 'Springfield' });
    expect(line).toHaveLength(155);
    expect(line.slice(0, 20).trim()).toBe('1331 Lake Rd');
    expect(line.slice(134, 144).trim()).toBe('45678901');
    expect(line.slice(58, 78).trim()).toBe('Springfield');
  });

  it('reports a wrong-length line with its line number', () => {
    const { errors } = decodeLine(read, 'short line', 42);
    expect(errors).toEqual([
      { line: 42, field: '(line)', value: 'short line', reason: 'line is 10 characters, layout read-v1 needs 139' },
    ]);
  });

  it('reports each bad field with line, field, value and reason, and keeps the good fields', () => {
    const good = encodeLine(read, {
      sequence: 3,
      account: 'A1',
      meter_id: 'M1',
      register: 1,
      reading: 1234,
      read_at: '20261123091500',
      method: 'K',
      reader_id: 'R1',
    });
    const bad = good.slice(0, 34) + '12X4567890' + '20260230091500' + 'Z' + good.slice(59);
    const { record, errors } = decodeLine(read, bad, 9);
    expect(errors).toEqual([
      { line: 9, field: 'reading', value: '12X4567890', reason: 'not a whole number' },
      { line: 9, field: 'read_at', value: '20260230091500', reason: 'not a real date and time' },
      { line: 9, field: 'method', value: 'Z', reason: 'expected one of K, R, P, O' },
    ]);
    expect(record.meter_id).toBe('M1');
    expect(record.reading).toBeNull();
  });

  it('decodes blanks as null and signed GPS decimals', () => {
    const line = encodeLine(read, {
      sequence: 1,
      account: 'A',
      meter_id: 'M',
      register: 1,
      read_at: '20261123091500',
      skip_code: 'DOG',
      lat: 39.80592,
      lon: -89.640143,
    });
    const { record, errors } = decodeLine(read, line, 1);
    expect(errors).toEqual([]);
    expect(record).toMatchObject({ reading: null, method: null, skip_code: 'DOG', lat: 39.80592, lon: -89.640143 });
  });

  it('joins and splits files on CRLF', () => {
    const text = encodeFile(route, [routeRecord, { ...routeRecord, sequence: 13 }]);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(splitLines(text).map((l) => l.length)).toEqual([174, 174]);
  });
});
