/** A value for a missing interval from history, or null when history has none. */

import { addFlag, isoAt, round6, type Interval, type VeeFinding } from './types.js';

export type Profile = (startAt: number) => number | null;

/** Gaps longer than this are a meter or a head-end problem for a person, not something to estimate. */
const MAX_ESTIMATE_SECONDS = 7 * 86_400;

/**
 * Estimation for gaps between received intervals (missing, or taken out by a rule):
 * - up to `maxLinearSeconds`: linear interpolation between the intervals either side;
 * - longer: the same-day-type historical average for that time of day (`profile`).
 * Every estimated interval has quality E and flags naming why (MISSING, or the rule that took it
 * out) and how (EST:LINEAR, EST:HISTORY). Expects intervals sorted, without duplicates.
 */
export function fillGaps(
  sorted: readonly Interval[],
  seconds: number,
  opts: { maxLinearSeconds: number; profile?: Profile; removedBy?: ReadonlyMap<number, string> },
): { intervals: Interval[]; findings: VeeFinding[] } {
  const out: Interval[] = [];
  const findings: VeeFinding[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const prev = sorted[i]!;
    out.push(prev);
    const next = sorted[i + 1];
    if (!next || next.startAt - prev.startAt <= seconds) continue;
    const missing = (next.startAt - prev.startAt) / seconds - 1;
    const gapSeconds = missing * seconds;
    const from = prev.startAt + seconds;
    const why = (at: number) => opts.removedBy?.get(at) ?? 'MISSING';
    if (gapSeconds > MAX_ESTIMATE_SECONDS) {
      findings.push({
        rule: 'MISSING_INTERVALS',
        severity: 'error',
        at: from,
        field: 'start',
        value: isoAt(from),
        message: `${missing} intervals missing from ${isoAt(from)}: too long to estimate`,
      });
      continue;
    }
    if (gapSeconds <= opts.maxLinearSeconds) {
      for (let k = 1; k <= missing; k++) {
        const at = prev.startAt + k * seconds;
        const value = prev.value + ((next.value - prev.value) * k) / (missing + 1);
        out.push({ startAt: at, seconds, value: round6(value), quality: 'E', flags: addFlag(why(at), 'EST:LINEAR') });
      }
      findings.push({
        rule: 'MISSING_INTERVALS',
        severity: 'info',
        at: from,
        field: 'start',
        value: isoAt(from),
        message: `${missing} interval(s) from ${isoAt(from)} estimated by linear interpolation`,
      });
      continue;
    }
    let unfilled = 0;
    for (let k = 1; k <= missing; k++) {
      const at = prev.startAt + k * seconds;
      const value = opts.profile?.(at) ?? null;
      if (value === null) unfilled++;
      else
        out.push({ startAt: at, seconds, value: round6(value), quality: 'E', flags: addFlag(why(at), 'EST:HISTORY') });
    }
    findings.push(
      unfilled === 0
        ? {
            rule: 'MISSING_INTERVALS',
            severity: 'warn',
            at: from,
            field: 'start',
            value: isoAt(from),
            message: `${missing} intervals from ${isoAt(from)} estimated from the same-day-type average`,
          }
        : {
            rule: 'MISSING_INTERVALS',
            severity: 'error',
            at: from,
            field: 'start',
            value: isoAt(from),
            message: `${missing} intervals missing from ${isoAt(from)}; ${unfilled} without history to estimate from`,
          },
    );
  }
  return { intervals: out, findings };
}
