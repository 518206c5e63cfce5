import { consumption } from '../../consumption.js';
import type { VeeFinding } from '../types.js';

/**
 * Register rollover: a register on `dials` digits wraps at 10^dials. A lower reading is a
 * rollover when that is the shorter way round; otherwise the register went backwards
 * (negative consumption), which is an error for a CSR.
 */
export function checkRegisterAdvance(
  previous: number,
  current: number,
  dials: number,
  at?: number,
): { units: number; findings: VeeFinding[] } {
  const c = consumption(previous, current, dials);
  if (c.negative) {
    return {
      units: c.units,
      findings: [
        {
          rule: 'NEGATIVE_REGISTER',
          severity: 'error',
          at,
          field: 'value',
          value: current,
          message: `register went backwards from ${previous} to ${current}`,
        },
      ],
    };
  }
  if (c.rollover) {
    return {
      units: c.units,
      findings: [
        {
          rule: 'ROLLOVER',
          severity: 'info',
          at,
          field: 'value',
          value: current,
          message: `register rolled over on ${dials} dials: ${previous} → ${current} = ${c.units} units`,
        },
      ],
    };
  }
  return { units: c.units, findings: [] };
}
