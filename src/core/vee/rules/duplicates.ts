import type { Interval, VeeFinding } from '../types.js';

/**
 * Duplicate intervals: the same start twice in one delivery. An exact repeat is dropped quietly
 * (head-ends resend overlapping windows); a repeat with another value keeps the first and is
 * reported, because one of the two readings is wrong. Expects intervals sorted by start.
 */
export function removeDuplicates(sorted: readonly Interval[]): { intervals: Interval[]; findings: VeeFinding[] } {
  const intervals: Interval[] = [];
  const findings: VeeFinding[] = [];
  let last: Interval | undefined;
  for (const iv of sorted) {
    if (last && iv.startAt === last.startAt) {
      if (iv.value !== last.value) {
        findings.push({
          rule: 'DUPLICATE_INTERVAL',
          severity: 'warn',
          at: iv.startAt,
          field: 'value',
          value: iv.value,
          message: `interval repeated with another value (${last.value} kept, ${iv.value} dropped)`,
        });
      }
      continue;
    }
    intervals.push(iv);
    last = iv;
  }
  return { intervals, findings };
}
