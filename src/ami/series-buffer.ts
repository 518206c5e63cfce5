import type { SourceChannel } from '../../adapters/ami-files/records.js';
import type { Interval } from '../core/vee/types.js';

/**
 * Intervals as they arrive from a codec, grouped by the source's channel, until the importer
 * takes them to validate and store. Files are mostly ordered by meter, but need not be: a file
 * ordered by day holds many channels at once, which is why this is a map and not one run.
 */
export interface BufferedSeries {
  channel: SourceChannel;
  intervals: Interval[];
  firstLine: number;
}

export class SeriesBuffer {
  private readonly series = new Map<string, BufferedSeries>();
  private count = 0;

  add(ch: SourceChannel, iv: Interval, line: number): void {
    const key = seriesKey(ch);
    let s = this.series.get(key);
    if (!s) {
      s = { channel: ch, intervals: [], firstLine: line };
      this.series.set(key, s);
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
    return all;
  }
}

export function seriesKey(ch: SourceChannel): string {
  return `${ch.meterRef}|${ch.channel}|${ch.unit}|${ch.seconds}|${ch.constant}`;
}
