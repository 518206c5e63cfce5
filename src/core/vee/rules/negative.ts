import type { Interval, VeeFinding } from '../types.js';

/**
 * Negative consumption on a delivered-energy or water channel cannot be right: the interval is
 * taken out (and later estimated like a gap), with a finding that keeps the value received.
 */
export function removeNegative(intervals: readonly Interval[]): {
  intervals: Interval[];
  findings: VeeFinding[];
  removed: Set<number>;
} {
  const kept: Interval[] = [];
  const findings: VeeFinding[] = [];
  const removed = new Set<number>();
  for (const iv of intervals) {
    if (iv.value < 0) {
      findings.push({
        rule: 'NEGATIVE_CONSUMPTION',
        severity: 'error',
        at: iv.startAt,
        field: 'value',
        value: iv.value,
        message: `negative consumption ${iv.value}; estimated instead`,
      });
      removed.add(iv.startAt);
    } else {
      kept.push(iv);
    }
  }
  return { intervals: kept, findings, removed };
}
