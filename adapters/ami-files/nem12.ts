import { DateTime } from 'luxon';
import type { Interval } from '../../src/core/vee/types.js';
import { detach, parseDecimal, type AmiSink, type SourceChannel } from './records.js';

/**
 * NEM12 (AEMO MDFF): 100 header, 200 NMI data details, 300 interval day, 400 interval events,
 * 500 B2B details, 900 end. Days are in market time (UTC+10, no DST). A 300 record's quality
 * "V" (variable) takes each interval's quality from the 400 records after it, so a 300 is held
 * until the next record that is not a 400. Stateful over lines; pure of I/O.
 */
export class Nem12Parser {
  private channel: SourceChannel | null = null;
  private pending: { intervals: Interval[]; line: number; dayStart: number } | null = null;
  private sawHeader = false;
  private sawEnd = false;
  private lineNo = 0;

  constructor(private readonly sink: AmiSink, private readonly zone = 'Etc/GMT-10') {}

  line(text: string): void {
    this.lineNo++;
    if (text.trim() === '') return;
    const f = text.split(',');
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
        if (f.length > 1 && f.slice(1).some((x) => x.trim() !== '')) this.bad(type, 'record indicator', '900 end record carries data', f.slice(1).join(','));
        this.sawEnd = true;
        return;
      default:
        return this.bad(type, 'record indicator', 'expected 100, 200, 300, 400, 500 or 900', type);
    }
  }

  end(): void {
    this.flushPending();
    if (!this.sawHeader) this.sink.issue({ record: 'file', line: 0, field: 'record indicator', message: 'no 100 header record', kind: 'BAD_RECORD' });
    if (!this.sawEnd) this.sink.issue({ record: 'file', line: this.lineNo, field: 'record indicator', message: 'no 900 end record: the file may be truncated; the records read are kept', kind: 'TRUNCATED' });
  }

  private details(f: string[]): void {
    this.channel = null;
    const nmi = f[1]?.trim() ?? '';
    const suffix = f[4]?.trim() ?? '';
    const serial = f[6]?.trim() ?? '';
    const uom = f[7]?.trim() ?? '';
    const minutes = Number(f[8]);
    if (!nmi) return this.bad('200', 'NMI', 'empty NMI');
    if (![5, 15, 30].includes(minutes)) return this.bad('200', 'IntervalLength', 'expected 5, 15 or 30', f[8]);
    if (!uom) return this.bad('200', 'UOM', 'empty unit of measure');
    this.channel = { meterRef: detach(serial || nmi), altRefs: serial ? [detach(nmi)] : [], channel: suffix.startsWith('B') ? 2 : 1, unit: detach(uom), seconds: minutes * 60, constant: 1 };
  }

  private day(f: string[]): void {
    const ch = this.channel;
    if (!ch) return this.bad('300', 'record indicator', 'interval day without a valid 200 record before it');
    const perDay = 86_400 / ch.seconds;
    const date = f[1] ?? '';
    const start = /^\d{8}$/.test(date) ? DateTime.fromFormat(date, 'yyyyMMdd', { zone: this.zone }) : null;
    if (!start?.isValid) return this.bad('300', 'IntervalDate', 'expected YYYYMMDD', date);
    if (f.length < 2 + perDay + 1) return this.bad('300', 'IntervalValue', `expected ${perDay} values for ${ch.seconds / 60}-minute intervals, found ${Math.max(0, f.length - 3)}`);
    const quality = f[2 + perDay] ?? '';
    if (!/^(A|V|[ESF]\d{0,2}|N)$/.test(quality)) return this.bad('300', 'QualityMethod', 'expected A, V, N or E/S/F with a method', quality);
    const dayStart = start.toSeconds();
    const intervals: Interval[] = [];
    for (let i = 0; i < perDay; i++) {
      const value = parseDecimal(f[2 + i]!);
      if (value === null) {
        this.bad('300', `IntervalValue${i + 1}`, 'expected a number', f[2 + i]);
        continue;
      }
      intervals.push({ startAt: dayStart + i * ch.seconds, seconds: ch.seconds, value, quality: quality === 'A' || quality === 'V' ? 'A' : 'E', flags: quality === 'A' || quality === 'V' ? null : `SRC:${quality}` });
    }
    this.pending = { intervals, line: this.lineNo, dayStart };
  }

  private events(f: string[]): void {
    const p = this.pending;
    if (!p || !this.channel) return this.bad('400', 'record indicator', 'interval event without a 300 record before it');
    const from = Number(f[1]);
    const to = Number(f[2]);
    const quality = f[3] ?? '';
    const perDay = 86_400 / this.channel.seconds;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from || to > perDay) return this.bad('400', 'StartInterval', `expected 1 ≤ start ≤ end ≤ ${perDay}`, `${f[1]}-${f[2]}`);
    if (!/^(A|[ESF]\d{0,2}|N)$/.test(quality)) return this.bad('400', 'QualityMethod', 'expected A, N or E/S/F with a method', quality);
    for (const iv of p.intervals) {
      const n = (iv.startAt - p.dayStart) / iv.seconds + 1;
      if (n >= from && n <= to && quality !== 'A') {
        iv.quality = 'E';
        iv.flags = `SRC:${quality}`;
      }
    }
  }

  private flushPending(): void {
    const p = this.pending;
    if (!p || !this.channel) return;
    this.pending = null;
    for (const iv of p.intervals) this.sink.interval(this.channel, iv, p.line);
  }

  private bad(type: string, field: string, message: string, value?: string): void {
    this.sink.issue({ record: `line ${this.lineNo} (${type} record)`, line: this.lineNo, field, message, value, kind: 'BAD_RECORD' });
  }
}
