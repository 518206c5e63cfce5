/**
 * Checks one decoded read-v1 line against its route line. Pure: the zone, code tables and
 * "now" come in. Each problem names its field; its severity says what happens to the line:
 *   reject: not stored as a reading; hold: stored, not posted until a CSR accepts it;
 *   info:   stored (and posted when it carries a value), shown to CSRs for review.
 */

import type { FieldError, FixedRecord } from './fixed-width/codec.js';
import { consumption } from './consumption.js';
import { localToUtc } from './local-time.js';

export type Severity = 'reject' | 'hold' | 'info';

export const EXCEPTION_KINDS = {
  LINE_LENGTH: 'reject',
  BAD_FIELD: 'reject',
  NOT_A_NUMBER: 'reject',
  BAD_DATE: 'reject',
  DST_GAP: 'reject',
  // Held, not rejected: either clock may be the wrong one (a gateway's clock stepped back), and a
  // rejected line is kept only as text; a held read is stored and a CSR accepts or corrects it.
  FUTURE_READ: 'hold',
  UNKNOWN_METER: 'reject',
  METER_NOT_ON_ROUTE: 'reject',
  UNKNOWN_REGISTER: 'reject',
  ACCOUNT_MISMATCH: 'reject',
  DUPLICATE_LINE: 'reject',
  TOO_MANY_DIGITS: 'reject',
  DUPLICATE_READ: 'info',
  UNKNOWN_CODE: 'hold',
  HIGH_READ: 'hold',
  LOW_READ: 'hold',
  NEGATIVE_CONSUMPTION: 'hold',
  HIGH_READ_CONFIRMED: 'info',
  LOW_READ_CONFIRMED: 'info',
  SKIPPED: 'info',
  MISSING_READ: 'info',
  TROUBLE: 'info',
  NOT_READ: 'info',
  BAD_MESSAGE: 'reject',
} as const satisfies Record<string, Severity>;

export type ExceptionKind = keyof typeof EXCEPTION_KINDS;

export interface Finding {
  kind: ExceptionKind;
  field: string;
  value: string;
  message: string;
}

export interface RouteLine {
  sequence: number;
  account: string;
  meterId: string;
  register: number;
  dials: number;
  prevRead: number;
  lowLimit: number;
  highLimit: number;
}

export interface CodeTables {
  read: Record<string, string>;
  skip: Record<string, string>;
  trouble: Record<string, string>;
}

export interface CheckContext {
  zone: string;
  codes: CodeTables;
  now: Date;
}

export type ReadStatus = 'valid' | 'held' | 'skipped';

export interface CheckedRead {
  status: ReadStatus;
  readAtUtc: string | null;
  reading: number | null;
  consumption: number | null;
  rollover: boolean;
}

export interface CheckResult {
  findings: Finding[];
  /** null when the line is rejected. */
  read: CheckedRead | null;
}

export function severityOf(kind: ExceptionKind): Severity {
  return EXCEPTION_KINDS[kind];
}

export function findingsFromCodec(errors: readonly FieldError[]): Finding[] {
  return errors.map((e) => {
    const kind: ExceptionKind =
      e.field === '(line)'
        ? 'LINE_LENGTH'
        : e.field === 'reading'
          ? 'NOT_A_NUMBER'
          : e.field === 'read_at'
            ? 'BAD_DATE'
            : 'BAD_FIELD';
    return { kind, field: e.field, value: e.value, message: e.reason };
  });
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export function checkRead(record: FixedRecord, line: RouteLine, ctx: CheckContext): CheckResult {
  const findings: Finding[] = [];
  const add = (kind: ExceptionKind, field: string, value: unknown, message: string) =>
    findings.push({ kind, field, value: str(value), message });

  if (str(record.account) !== line.account) {
    add(
      'ACCOUNT_MISMATCH',
      'account',
      record.account,
      `meter ${line.meterId} belongs to account ${line.account} on this route`,
    );
  }

  let readAtUtc: string | null = null;
  if (record.read_at !== null) {
    const t = localToUtc(str(record.read_at), ctx.zone);
    if (!t.ok) add('DST_GAP', 'read_at', record.read_at, t.reason);
    else {
      readAtUtc = t.utc;
      const ahead = Date.parse(t.utc) - ctx.now.getTime();
      if (ahead > 5 * 60_000)
        add(
          'FUTURE_READ',
          'read_at',
          record.read_at,
          `read time is ${Math.round(ahead / 60_000)} min ahead of this gateway's clock: the device's clock or the ` +
            `gateway's is wrong`,
        );
    }
  }

  const reading = typeof record.reading === 'number' ? record.reading : null;
  if (reading !== null && (reading < 0 || reading >= 10 ** line.dials)) {
    add('TOO_MANY_DIGITS', 'reading', reading, `a ${line.dials}-dial register reads 0 to ${10 ** line.dials - 1}`);
  }
  if (reading !== null && record.read_at === null) add('BAD_DATE', 'read_at', '', 'a reading needs its read time');
  if (findings.some((f) => severityOf(f.kind) === 'reject')) return { findings, read: null };

  for (const [field, table] of [
    ['read_code', 'read'],
    ['skip_code', 'skip'],
    ['trouble_code', 'trouble'],
  ] as const) {
    const code = str(record[field]);
    if (code && !(code in ctx.codes[table]))
      add('UNKNOWN_CODE', field, code, `unknown ${table} code (known: ${Object.keys(ctx.codes[table]).join(', ')})`);
  }
  const trouble = str(record.trouble_code);
  if (trouble && trouble in ctx.codes.trouble) add('TROUBLE', 'trouble_code', trouble, ctx.codes.trouble[trouble]!);

  if (reading === null) {
    const skip = str(record.skip_code);
    if (skip) add('SKIPPED', 'skip_code', skip, ctx.codes.skip[skip] ?? 'skipped');
    else add('MISSING_READ', 'reading', '', 'no reading and no skip code');
    return { findings, read: { status: 'skipped', readAtUtc, reading: null, consumption: null, rollover: false } };
  }

  const used = consumption(line.prevRead, reading, line.dials);
  const low = consumption(line.prevRead, line.lowLimit, line.dials).units;
  const high = consumption(line.prevRead, line.highLimit, line.dials).units;
  const confirmed = str(record.read_code);
  // Units against units: the limits are register readings, and a CSR compares what was used.
  const since = `${used.units} units used since the last read of ${line.prevRead}`;
  const aboveHigh = `${since}; the high limit allows ${high} (a reading up to ${line.highLimit})`;
  const belowLow = `${since}; the low limit expects at least ${low} (a reading of ${line.lowLimit} or more)`;
  if (used.negative) {
    add(
      'NEGATIVE_CONSUMPTION',
      'reading',
      reading,
      `reading ${reading} is below the previous read ${line.prevRead} (${used.units} units)`,
    );
  } else if (used.units > high) {
    if (confirmed === 'HC') add('HIGH_READ_CONFIRMED', 'reading', reading, `${aboveHigh}; confirmed by the reader`);
    else add('HIGH_READ', 'reading', reading, aboveHigh);
  } else if (used.units < low) {
    if (confirmed === 'LC') add('LOW_READ_CONFIRMED', 'reading', reading, `${belowLow}; confirmed by the reader`);
    else add('LOW_READ', 'reading', reading, belowLow);
  }
  const held = findings.some((f) => severityOf(f.kind) === 'hold');
  return {
    findings,
    read: { status: held ? 'held' : 'valid', readAtUtc, reading, consumption: used.units, rollover: used.rollover },
  };
}
