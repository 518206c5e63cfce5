import type { VeeFinding } from '../types.js';

/**
 * Sum check: the intervals between two register reads must add up to the register's advance
 * (times the meter's multiplier), within a tolerance for rounding in the head-end.
 */
export function sumCheck(intervalSum: number, registerUnits: number, tolerance: number, at?: number): VeeFinding[] {
  const scale = Math.max(Math.abs(registerUnits), 1);
  const off = Math.abs(intervalSum - registerUnits) / scale;
  if (off <= tolerance) return [];
  return [
    {
      rule: 'SUM_CHECK',
      severity: 'warn',
      at,
      field: 'value',
      value: Number(intervalSum.toFixed(3)),
      message:
        `intervals add up to ${intervalSum.toFixed(3)} but the register advanced ${registerUnits} ` +
        `(${(off * 100).toFixed(1)}% apart, ${(tolerance * 100).toFixed(1)}% allowed)`,
    },
  ];
}
