import { addFlag, type Interval, type VeeFinding } from '../types.js';

export interface SpikeSettings {
  factor: number;
  window: number;
  minValue: number;
}

/**
 * Spike: an interval more than `factor` times the median of the `window` intervals around it,
 * and above `minValue` (so a kettle at night is not a spike). Spikes keep their value, flagged
 * SPIKE, for a CSR to accept or estimate: a real spike bills.
 */
export function flagSpikes(intervals: Interval[], s: SpikeSettings): VeeFinding[] {
  const findings: VeeFinding[] = [];
  const half = Math.floor(s.window / 2);
  const around: number[] = [];
  for (let i = 0; i < intervals.length; i++) {
    const v = intervals[i]!.value;
    if (v <= s.minValue) continue;
    around.length = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(intervals.length - 1, i + half); j++)
      if (j !== i) around.push(intervals[j]!.value);
    if (around.length < 2) continue;
    // Cheap test first: below factor × the smallest neighbour it cannot be above factor × the median.
    let min = Infinity;
    for (const a of around) if (a < min) min = a;
    if (v <= s.factor * min) continue;
    around.sort((a, b) => a - b);
    const mid = around.length >> 1;
    const median = around.length % 2 ? around[mid]! : (around[mid - 1]! + around[mid]!) / 2;
    if (v > s.factor * median) {
      intervals[i] = { ...intervals[i]!, flags: addFlag(intervals[i]!.flags, 'SPIKE') };
      findings.push({
        rule: 'SPIKE',
        severity: 'warn',
        at: intervals[i]!.startAt,
        field: 'value',
        value: v,
        message: `${v} is more than ${s.factor}× the median ${Number(median.toFixed(4))} of the intervals around it`,
      });
    }
  }
  return findings;
}
