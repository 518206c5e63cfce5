/**
 * CMEP MEPMD01 (formats.md): 14 header fields, then (timestamp, quality, value) triplets.
 *   MEPMD01,19970819,sender,senderCustomer,receiver,receiverCustomer,created,meterId,purpose,
 *   commodity,units,constant,interval,count, yyyymmddhhmm,quality,value, ,quality,value, ...
 * An empty timestamp means the previous one plus the interval. Interval "MMDDHHMM" (00000015 =
 * 15 minutes; 00000000 = register reads). Interval timestamps mark the interval's end.
 */

import { DateTime } from 'luxon';
import type { Interval, IntervalQuality } from '../../src/core/vee/types.js';
import { detach, parseDecimal, sourceFlag, type AmiSink, type SourceChannel } from '../ami-records.js';

export interface CmepOptions {
  /** The zone of the file's timestamps (UTC unless the head-end writes local time). */
  zone: string;
  /** Where an interval's timestamp sits. CMEP says the end. */
  timestampMarks: 'end' | 'start';
}

const HEADER_FIELDS = 14;
const COMMODITIES = new Set(['E', 'W', 'G', 'S', 'H']);

export function parseCmepLine(line: string, lineNo: number, opts: CmepOptions, sink: AmiSink): void {
  if (line.length === 0) return;
  const f = line.split(',');
  const bad = (field: string, message: string, value?: string) =>
    sink.issue({ record: `line ${lineNo}`, line: lineNo, field, message, value });
  if (f[0] !== 'MEPMD01') return bad('record type', `expected MEPMD01`, f[0]);
  if (f.length < HEADER_FIELDS) return bad('count', `${f.length} fields; the header alone has ${HEADER_FIELDS}`);
  const meterRef = f[7]!.trim();
  if (!meterRef) return bad('meter id', 'empty meter id');
  if (!COMMODITIES.has(f[9]!)) return bad('commodity', 'expected E, W, G, S or H', f[9]);
  const unit = f[10]!.trim();
  if (!unit) return bad('units', 'empty unit');
  const constant = parseDecimal(f[11]!) ?? (f[11] === '' ? 1 : null);
  if (constant === null || constant <= 0) return bad('constant', 'expected a positive number', f[11]);
  const seconds = intervalSeconds(f[12]!);
  if (seconds === null) return bad('interval', 'expected MMDDHHMM with months 00 (such as 00000015)', f[12]);
  const count = Number(f[13]);
  const triplets = Math.floor((f.length - HEADER_FIELDS) / 3);
  if (!Number.isInteger(count) || count < 0) return bad('count', 'expected a whole number', f[13]);
  if (triplets !== count || (f.length - HEADER_FIELDS) % 3 !== 0) {
    bad(
      'count',
      `header says ${count} readings, line has ` +
        `${triplets}${(f.length - HEADER_FIELDS) % 3 ? ' and a partial one' : ''}; the complete ones are kept`,
      f[13],
    );
  }
  const ch: SourceChannel = { meterRef: detach(meterRef), channel: 1, unit: detach(unit), seconds, constant };
  let at: number | null = null;
  for (let k = 0; k < triplets; k++) {
    const i = HEADER_FIELDS + k * 3;
    const stamp = f[i]!;
    const what = `reading ${k + 1}`;
    if (stamp !== '') {
      at = parseStamp(stamp, opts.zone);
      if (at === null) {
        bad(`${what} timestamp`, 'expected YYYYMMDDhhmm', stamp);
        return; // later empty timestamps count on from this one: they cannot be placed
      }
    } else if (at === null) {
      return bad(`${what} timestamp`, 'the first reading needs a timestamp');
    } else {
      if (seconds === 0) return bad(`${what} timestamp`, 'register reads need their own timestamps');
      at += seconds;
    }
    const value = parseDecimal(f[i + 2]!);
    if (value === null) {
      bad(`${what} value`, 'expected a number', f[i + 2]);
      continue;
    }
    if (seconds === 0) {
      sink.register(ch, at, value * constant, lineNo);
      continue;
    }
    const quality = f[i + 1]!;
    const q: IntervalQuality = quality.startsWith('E') ? 'E' : 'A';
    const iv: Interval = {
      startAt: opts.timestampMarks === 'end' ? at - seconds : at,
      seconds,
      value: constant === 1 ? value : value * constant,
      quality: q,
      flags: quality === '' || quality === 'A' || quality === 'R0' ? null : sourceFlag(quality),
    };
    sink.interval(ch, iv, lineNo);
  }
}

/** "00000015" → 900; "00000100" → 3600; "00000000" → 0 (register reads). Months vary in length: refused. */
function intervalSeconds(text: string): number | null {
  if (!/^\d{8}$/.test(text) || text.slice(0, 2) !== '00') return null;
  const days = Number(text.slice(2, 4));
  const hours = Number(text.slice(4, 6));
  const minutes = Number(text.slice(6, 8));
  return ((days * 24 + hours) * 60 + minutes) * 60;
}

/** "202603080215" in `zone` → epoch seconds. UTC is parsed by hand: this runs per line. */
export function parseStamp(text: string, zone: string): number | null {
  if (text.length !== 12) return null;
  const y = +text.slice(0, 4);
  const mo = +text.slice(4, 6);
  const d = +text.slice(6, 8);
  const h = +text.slice(8, 10);
  const mi = +text.slice(10, 12);
  if (!(y > 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 24 && mi <= 59)) return null;
  if (zone === 'UTC') return Date.UTC(y, mo - 1, d, h, mi) / 1000;
  // Local time: an hour that repeats in the fall takes its first occurrence; CMEP files avoid the
  // ambiguity by leaving timestamps empty after the first, which count on in absolute time.
  const t = DateTime.fromObject({ year: y, month: mo, day: d, hour: h === 24 ? 0 : h, minute: mi }, { zone }).plus({
    days: h === 24 ? 1 : 0,
  });
  return t.isValid ? t.toSeconds() : null;
}
