/** The span of local days an import touched for one meter register. */
export interface TouchedSpan {
  meterId: string;
  channel: number;
  seconds: number;
  /** First instant of the first local day touched, and the end of the last (UTC epoch seconds). */
  from: number;
  to: number;
}

/**
 * Which meter registers and days an import touched, so daily reads are derived for exactly
 * those afterwards. Bounded by the meters in the file, not by its intervals.
 */
export class DayLedger {
  private readonly spans = new Map<string, TouchedSpan>();

  touch(meterId: string, channel: number, seconds: number, dayStart: number, dayEnd: number): void {
    const key = `${meterId}|${channel}`;
    const s = this.spans.get(key);
    if (!s) this.spans.set(key, { meterId, channel, seconds, from: dayStart, to: dayEnd });
    else {
      s.from = Math.min(s.from, dayStart);
      s.to = Math.max(s.to, dayEnd);
    }
  }

  all(): TouchedSpan[] {
    return [...this.spans.values()];
  }
}
