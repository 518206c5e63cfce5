/**
 * One codec for every fixed-width layout: pure, no I/O. Decoding never throws on bad data;
 * it returns the fields it could read and one error per bad field, so the caller can keep
 * the good lines of a file and report the bad ones by line and field.
 */

import type { FieldDef, Layout } from './layout.js';

export type FieldValue = string | number | null;
export type FixedRecord = Record<string, FieldValue>;

export interface FieldError {
  line: number;
  field: string;
  value: string;
  reason: string;
}

export interface DecodedLine {
  line: number;
  record: FixedRecord;
  errors: FieldError[];
}

export class EncodeError extends Error {
  readonly code = 'ENCODE';
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
    readonly record?: number,
  ) {
    super(
      `${record !== undefined ? `record ${record}, ` : ''}field ${field}: ${reason} (value ${JSON.stringify(value)})`,
    );
  }
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)$/;
const DATETIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

export function decodeLine(layout: Layout, text: string, line: number): DecodedLine {
  const record: FixedRecord = {};
  const errors: FieldError[] = [];
  if (text.length !== layout.lineLength) {
    errors.push({
      line,
      field: '(line)',
      value: text.length > 60 ? `${text.slice(0, 60)}…` : text,
      reason: `line is ${text.length} characters, layout ${layout.name} needs ${layout.lineLength}`,
    });
    return { line, record, errors };
  }
  for (const field of layout.fields) {
    const raw = text.substr(field.start - 1, field.length);
    const result = decodeField(field, raw);
    if (typeof result === 'object' && result !== null && 'reason' in result) {
      errors.push({ line, field: field.name, value: raw.trim(), reason: result.reason });
      record[field.name] = null;
    } else {
      record[field.name] = result;
    }
  }
  return { line, record, errors };
}

function decodeField(field: FieldDef, raw: string): FieldValue | { reason: string } {
  const trimmed = raw.trim();
  const blank =
    trimmed === '' ||
    (field.type !== 'string' &&
      field.pad !== undefined &&
      field.pad !== '0' &&
      trimmed.split('').every((c) => c === field.pad));
  if (blank) return field.required ? { reason: 'required field is blank' } : null;
  switch (field.type) {
    case 'string':
      return trimmed;
    case 'integer': {
      if (!INTEGER.test(trimmed)) return { reason: 'not a whole number' };
      const n = Number(trimmed);
      return Number.isSafeInteger(n) ? n : { reason: 'number too large' };
    }
    case 'decimal':
      return DECIMAL.test(trimmed) ? Number(trimmed) : { reason: 'not a decimal number' };
    case 'datetime': {
      const m = DATETIME.exec(trimmed);
      if (!m) return { reason: 'not a date-time YYYYMMDDhhmmss' };
      const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
      const days = new Date(Date.UTC(y!, mo, 0)).getUTCDate();
      if (mo! < 1 || mo! > 12 || d! < 1 || d! > days || h! > 23 || mi! > 59 || s! > 59)
        return { reason: 'not a real date and time' };
      return trimmed;
    }
    case 'enum':
      return field.values!.includes(trimmed) ? trimmed : { reason: `expected one of ${field.values!.join(', ')}` };
    case 'flag':
      return trimmed === 'Y' ? 'Y' : trimmed === 'N' ? 'N' : { reason: 'expected Y, N or blank' };
  }
}

/** Encodes one record to a line without its terminator. Throws EncodeError naming the field. */
export function encodeLine(layout: Layout, record: Record<string, unknown>, recordNo?: number): string {
  const chars = Array<string>(layout.lineLength).fill(' ');
  for (const field of layout.fields) {
    const value = record[field.from ?? field.name];
    const text = encodeField(field, value, recordNo);
    for (let i = 0; i < field.length; i++) chars[field.start - 1 + i] = text[i]!;
  }
  return chars.join('');
}

function encodeField(field: FieldDef, value: unknown, recordNo?: number): string {
  const fail = (reason: string) => new EncodeError(field.name, value, reason, recordNo);
  if (value === null || value === undefined || value === '') {
    if (field.required) throw fail('required field is empty');
    return ' '.repeat(field.length);
  }
  let text: string;
  switch (field.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw fail('not a whole number');
      text = String(Math.abs(value));
      if (value < 0) text = '-' + text.padStart(field.length - 1, field.pad ?? '0');
      break;
    case 'decimal': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail('not a number');
      const plain = plainDecimal(value);
      if (plain === null) throw fail('cannot be written in plain digits without changing it');
      text = plain;
      break;
    }
    case 'enum':
      if (!field.values!.includes(String(value))) throw fail(`expected one of ${field.values!.join(', ')}`);
      text = String(value);
      break;
    default:
      text = toAscii(String(value));
  }
  if (text.length > field.length) {
    if (field.overflow !== 'truncate') throw fail(`longer than ${field.length} characters`);
    text = text.slice(0, field.length);
  }
  const pad = field.pad ?? (field.type === 'integer' ? '0' : ' ');
  const justify = field.justify ?? (field.type === 'integer' || field.type === 'decimal' ? 'right' : 'left');
  return justify === 'right' ? text.padStart(field.length, pad) : text.padEnd(field.length, pad);
}

/**
 * A number as plain digits: JavaScript writes 1e-7 and 1e21 with an exponent, which no
 * fixed-width reader (ours included) takes as a decimal. Null when no plain form keeps the value
 * (past 1e21, or finer than 20 decimal places).
 */
function plainDecimal(value: number): string | null {
  const shortest = String(value);
  if (!/e/i.test(shortest)) return shortest;
  if (Math.abs(value) >= 1e21) return null;
  const plain = value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
  return Number(plain) === value ? plain : null;
}

/** Files are ASCII: strip accents (José → Jose) and replace anything else with '?'. */
export function toAscii(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '?');
}

export function encodeFile(layout: Layout, records: readonly Record<string, unknown>[]): string {
  return records.map((r, i) => encodeLine(layout, r, i + 1) + layout.lineEnding).join('');
}

/** Splits file text into lines (CRLF or LF), dropping one trailing terminator. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
