/**
 * NEM12 (AEMO MDFF): 100 header, 200 NMI data details, 300 interval day, 400 interval events,
 * 500 B2B details, 900 end. Days are in market time (UTC+10, no DST). Each 200 record opens a
 * data stream, named by its NMI suffix (E1 import kWh, B1 export, Q1/K1 kVArh, …): a stream is
 * one billing register, never merged with another stream of the same NMI, and the register is
 * the one its suffix names (`suffixRegisters`). A 300 record's quality "V" (variable) takes each
 * interval's quality from the 400 records after it, so a 300 is held until the next record that
 * is not a 400. Quality N intervals are null data: never stored. Stateful over lines; pure of I/O.
 */

import { DateTime } from 'luxon';
import type { Interval } from '../../src/core/vee/types.js';
import { detach, parseDecimal, type AmiSink, type ParseIssue, type SourceChannel } from '../ami-records.js';

/** NEM12's suffixes with a register by default: E1 (import) on register 1, B1 (export) on register 2. */
export const DEFAULT_SUFFIX_REGISTERS: Readonly<Record<string, number>> = { E1: 1, B1: 2 };

/** The interval lengths NEM12 allows (minutes). */
const INTERVAL_MINUTES = [5, 15, 30];
const QUALITY_300 = /^(A|V|N|[ESF]\d{0,2})$/;
const QUALITY_400 = /^(A|N|[ESF]\d{0,2})$/;

/** One 200 record's stream; `problem` set: its interval days are skipped and reported once, with their count. */
interface Stream {
  channel: SourceChannel | null;
  line: number;
  problem: Omit<ParseIssue, 'record' | 'line'> | null;
  skippedDays: number;
}

interface PendingDay {
  intervals: (Interval | null)[];
  line: number;
  date: string;
  variable: boolean;
  /** For a V day: which intervals a 400 record gave a quality. */
  covered: boolean[];
}

export class Nem12Parser {
  private stream: Stream | null = null;
  private pending: PendingDay | null = null;
  private sawHeader = false;
  private sawEnd = false;
  private lineNo = 0;
  /** Whether the last record read was whole and valid: a file without its 900 that ends on one is complete. */
  private lastRecordGood = false;
  private issuesThisLine = 0;

  constructor(
    private readonly sink: AmiSink,
    private readonly zone = 'Etc/GMT-10',
    private readonly suffixRegisters: Readonly<Record<string, number>> = DEFAULT_SUFFIX_REGISTERS,
  ) {}

  /** A line the reader skipped (too long to be a record): counted, so later line numbers stay true. */
  skipLine(): void {
    this.lineNo++;
    this.lastRecordGood = false;
  }

  line(text: string): void {
    this.lineNo++;
    if (text.trim() === '') return;
    this.issuesThisLine = 0;
    this.record(text.split(','));
    this.lastRecordGood = this.issuesThisLine === 0;
  }

  end(): void {
    this.flushPending();
    this.closeStream();
    if (!this.sawHeader)
      this.sink.issue({
        record: 'file',
        line: 0,
        field: 'record indicator',
        message: 'no 100 header record',
        kind: 'BAD_RECORD',
      });
    if (!this.sawEnd && this.lastRecordGood)
      this.sink.issue({
        record: 'file',
        line: this.lineNo,
        field: 'record indicator',
        message: 'no 900 end record, but the last record is whole: the file is stored; tell the sender',
        kind: 'NO_END_RECORD',
        severity: 'warn',
      });
    else if (!this.sawEnd)
      this.sink.issue({
        record: 'file',
        line: this.lineNo,
        field: 'record indicator',
        message: 'no 900 end record: the file may be truncated; the records read are kept',
        kind: 'TRUNCATED',
      });
  }

  private record(f: string[]): void {
    const type = f[0]!;
    if (type !== '400') this.flushPending();
    if (this.sawEnd) this.bad(type, 'record indicator', 'record after the 900 end record; read all the same', type);
    switch (type) {
      case '100':
        if (f[1] !== 'NEM12') this.bad(type, 'version header', 'expected NEM12', f[1]);
        this.sawHeader = true;
        return;
      case '200':
        return this.details(f);
      case '300':
        return this.day(f);
      case '400':
        return this.events(f);
      case '500':
        return;
      case '900':
        if (f.length > 1 && f.slice(1).some((x) => x.trim() !== ''))
          this.bad(type, 'record indicator', '900 end record carries data', f.slice(1).join(','));
        this.sawEnd = true;
        return;
      default:
        return this.bad(type, 'record indicator', 'expected 100, 200, 300, 400, 500 or 900', type);
    }
  }

  private details(f: string[]): void {
    this.closeStream();
    const nmi = f[1]?.trim() ?? '';
    const suffix = f[4]?.trim().toUpperCase() ?? '';
    const serial = f[6]?.trim() ?? '';
    const uom = f[7]?.trim() ?? '';
    const minutes = Number(f[8]);
    const stream: Stream = { channel: null, line: this.lineNo, problem: null, skippedDays: 0 };
    this.stream = stream;
    const names = `NMI ${nmi}${serial ? ` (meter ${serial})` : ''} stream ${suffix || '(none)'}`;
    const problem = (field: string, message: string, value?: string, kind: ParseIssue['kind'] = 'BAD_RECORD') => {
      stream.problem = { field, value, message: `${names}: ${message}`, kind };
      this.issuesThisLine++;
    };
    const register = this.suffixRegisters[suffix];
    if (!nmi) return problem('NMI', 'empty NMI');
    if (!INTERVAL_MINUTES.includes(minutes))
      return problem('IntervalLength', `NEM12 allows intervals of 5, 15 or 30 minutes, not '${f[8] ?? ''}'`, f[8]);
    if (!uom) return problem('UOM', 'empty unit of measure');
    if (register === undefined)
      return problem(
        'NMISuffix',
        `no register is named for NEM12 suffix '${suffix}' (ami.nem12.suffixRegisters; E1 and B1 are registers 1 ` +
          `and 2 by default)`,
        suffix,
        'UNKNOWN_REGISTER',
      );
    stream.channel = {
      meterRef: detach(serial || nmi),
      altRefs: serial ? [detach(nmi)] : [],
      channel: register,
      stream: detach(suffix),
      unit: detach(uom),
      seconds: minutes * 60,
      constant: 1,
    };
  }

  /** Ends the current stream; one that could not be read is reported once, with what was left out. */
  private closeStream(): void {
    const s = this.stream;
    this.stream = null;
    if (!s?.problem) return;
    this.sink.issue({
      ...s.problem,
      record: `line ${s.line} (200 record)`,
      line: s.line,
      message: `${s.problem.message}; ${s.skippedDays} interval day(s) of it were not stored`,
    });
  }

  private day(f: string[]): void {
    const s = this.stream;
    if (!s) return this.bad('300', 'record indicator', 'interval day without a 200 record before it');
    if (s.problem) {
      s.skippedDays++;
      return;
    }
    const ch = s.channel!;
    const perDay = 86_400 / ch.seconds;
    const date = f[1] ?? '';
    const start = /^\d{8}$/.test(date) ? DateTime.fromFormat(date, 'yyyyMMdd', { zone: this.zone }) : null;
    if (!start?.isValid) return this.bad('300', 'IntervalDate', 'expected YYYYMMDD', date);
    // The values run from the third field to the quality method, the first field that is not a number.
    let values = 0;
    while (2 + values < f.length && !QUALITY_300.test(f[2 + values]!.trim())) values++;
    if (values !== perDay)
      return this.bad(
        '300',
        'IntervalValue',
        `the 200 record (line ${s.line}) says ${ch.seconds / 60}-minute intervals (${perDay} a day); this 300 ` +
          `record of ${date} has ${values} values`,
      );
    // Stopped at the end of the record, not at a quality method: the record has none.
    const quality = f[2 + perDay]?.trim();
    if (quality === undefined)
      return this.bad('300', 'QualityMethod', `the 300 record of ${date} has no quality method after its values`);
    const dayStart = start.toSeconds();
    const intervals: (Interval | null)[] = [];
    for (let i = 0; i < perDay; i++) {
      const value = parseDecimal(f[2 + i]!);
      if (value === null) {
        if (quality !== 'N') this.bad('300', `IntervalValue${i + 1}`, 'expected a number', f[2 + i]);
        intervals.push(null);
        continue;
      }
      intervals.push(
        quality === 'N'
          ? null
          : {
              startAt: dayStart + i * ch.seconds,
              seconds: ch.seconds,
              value,
              quality: quality === 'A' || quality === 'V' ? 'A' : 'E',
              flags: quality === 'A' || quality === 'V' ? null : `SRC:${quality}`,
            },
      );
    }
    this.pending = {
      intervals,
      line: this.lineNo,
      date,
      variable: quality === 'V',
      covered: new Array<boolean>(perDay).fill(false),
    };
  }

  private events(f: string[]): void {
    const p = this.pending;
    if (this.stream?.problem) return;
    if (!p) return this.bad('400', 'record indicator', 'interval event without a 300 record before it');
    const from = Number(f[1]);
    const to = Number(f[2]);
    const quality = f[3]?.trim() ?? '';
    const perDay = p.intervals.length;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from || to > perDay)
      return this.bad('400', 'StartInterval', `expected 1 ≤ start ≤ end ≤ ${perDay}`, `${f[1]}-${f[2]}`);
    if (!QUALITY_400.test(quality))
      return this.bad('400', 'QualityMethod', 'expected A, N or E/S/F with a method', quality);
    for (let n = from; n <= to; n++) {
      p.covered[n - 1] = true;
      const iv = p.intervals[n - 1];
      if (!iv) continue;
      if (quality === 'N') p.intervals[n - 1] = null;
      else if (quality !== 'A') {
        iv.quality = 'E';
        iv.flags = `SRC:${quality}`;
      }
    }
  }

  private flushPending(): void {
    const p = this.pending;
    const ch = this.stream?.channel;
    if (!p || !ch) return;
    this.pending = null;
    if (p.variable) {
      const gaps = ranges(p.covered.map((c) => !c));
      if (gaps.length) {
        this.sink.issue({
          record: `line ${p.line} (300 record)`,
          line: p.line,
          field: 'QualityMethod',
          value: 'V',
          message:
            `the 300 record of ${p.date} has quality V, but its 400 records give no quality to interval(s) ` +
            `${gaps.join(', ')} of ${p.intervals.length}: those were not stored`,
          kind: 'BAD_RECORD',
        });
        p.covered.forEach((c, i) => c || (p.intervals[i] = null));
      }
    }
    for (const iv of p.intervals) if (iv) this.sink.interval(ch, iv, p.line);
  }

  private bad(type: string, field: string, message: string, value?: string): void {
    this.issuesThisLine++;
    this.sink.issue({
      record: `line ${this.lineNo} (${type} record)`,
      line: this.lineNo,
      field,
      message,
      value,
      kind: 'BAD_RECORD',
    });
  }
}

/** "3–7", "12" for each run of true (1-based), for a person reading the exception. */
function ranges(flags: boolean[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    if (!flags[i]) continue;
    let j = i;
    while (j + 1 < flags.length && flags[j + 1]) j++;
    out.push(i === j ? `${i + 1}` : `${i + 1}–${j + 1}`);
    i = j;
  }
  return out;
}
