/**
 * Intervals as they arrive from a codec, grouped by the source's channel, until the importer
 * takes them to validate and store. Files are mostly ordered by meter, but need not be: a file
 * ordered by day holds many channels at once, which is why this is a map and not one run.
 */

import type { SourceChannel } from '../../../adapters/ami-records.js';
import type { Interval } from '../../core/vee/types.js';

export interface BufferedSeries {
  channel: SourceChannel;
  intervals: Interval[];
  firstLine: number;
}

export class SeriesBuffer {
  private readonly series = new Map<string, BufferedSeries>();
  private count = 0;
  /** Codecs hand over a run of intervals with one channel object: its series is found once per run. */
  private lastChannel: SourceChannel | null = null;
  private lastSeries: BufferedSeries | null = null;

  add(ch: SourceChannel, iv: Interval, line: number): void {
    let s = ch === this.lastChannel ? this.lastSeries : null;
    if (!s) {
      const key = seriesKey(ch);
      s = this.series.get(key) ?? null;
      if (!s) {
        s = { channel: ch, intervals: [], firstLine: line };
        this.series.set(key, s);
      }
      this.lastChannel = ch;
      this.lastSeries = s;
    }
    s.intervals.push(iv);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Everything held, emptied. */
  take(): BufferedSeries[] {
    const all = [...this.series.values()];
    this.series.clear();
    this.count = 0;
    this.lastChannel = this.lastSeries = null;
    return all;
  }
}

export function seriesKey(ch: SourceChannel): string {
  return `${ch.meterRef}|${ch.channel}|${ch.unit}|${ch.seconds}|${ch.constant}`;
}
