/**
 * What every AMI codec hands the core: intervals and register reads for a channel the source
 * names, and issues that name the record and field. Codecs are pure: text in, these out.
 */

import type { Interval } from '../src/core/vee/types.js';

export interface SourceChannel {
  /** The meter as the source names it: a meter id, a radio (ERT) id, an NMI, a usage point. */
  meterRef: string;
  /** Other names the source gives the same meter (a meter serial next to an NMI). */
  altRefs?: string[];
  /** Billing register number. */
  channel: number;
  /** The source's own name of the data stream, where it has one (a NEM12 NMI suffix: E1, B1, Q1). */
  stream?: string;
  /**
   * The source's unit, before conversion to the register's unit; null: already the register's (a radio's raw count).
   */
  unit: string | null;
  /** Interval length in seconds (0 for register reads). */
  seconds: number;
  /** Multiplier the source states and has already applied to the values (CMEP's constant). */
  constant: number;
}

export interface ParseIssue {
  /** Where: "line 14", "IntervalBlock …/IntervalBlock/3, IntervalReading 17". */
  record: string;
  line: number;
  field: string;
  message: string;
  value?: string;
  kind?: 'BAD_RECORD' | 'TRUNCATED' | 'REFUSED' | 'UNKNOWN_REGISTER' | 'NO_END_RECORD';
  /** 'error' unless said: a warning is kept for a CSR, and the file still counts as done. */
  severity?: 'error' | 'warn';
}

export interface AmiSink {
  interval(ch: SourceChannel, iv: Interval, line: number): void;
  register(ch: SourceChannel, readAt: number, value: number, line: number): void;
  issue(issue: ParseIssue): void;
}

/** A source refused outright (a DOCTYPE in XML): nothing in it is trusted. */
export class SourceRefused extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'SourceRefused';
  }
}

/** Parses a decimal, or null; `Number('')` is 0, which must not pass for a value. */
export function parseDecimal(text: string): number | null {
  if (text.length === 0) return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** A source's own quality code kept as a flag, reduced to characters that are safe everywhere. */
export function sourceFlag(code: string): string {
  return `SRC:${code.replace(/[^A-Za-z0-9.-]/g, '').slice(0, 12)}`;
}

/**
 * A copy of a string that does not hold on to the text it was cut from. V8 keeps a substring as
 * a view of its parent, so a meter id kept in a map from a 64 KiB chunk keeps the whole chunk:
 * per meter, that grew an import's memory with the number of meters in the file.
 */
export function detach(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
