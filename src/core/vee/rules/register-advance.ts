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

/**
 * A register read must fit its dials: a 10-digit read on an 8-dial register is a misread or the
 * wrong meter, and taken as it is it would look like a rollover of a billion units.
 */
export function checkRegisterFits(value: number, dials: number, at?: number): VeeFinding | null {
  // A register billing gives no dials (0) has no bound to check.
  if (!(dials > 0) || (value >= 0 && Math.floor(value) < 10 ** dials)) return null;
  return {
    rule: 'REGISTER_DIALS',
    severity: 'error',
    at,
    field: 'value',
    value,
    message:
      value < 0
        ? `register read ${value} is negative; a register counts up from 0`
        : `register read ${value} has ${String(Math.floor(value)).length} digits, but the register has ${dials} ` +
          `dials (at most ${10 ** dials - 1}); the read was not stored`,
  };
}
