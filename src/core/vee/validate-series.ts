import type { VeeConfig } from './config.js';
import { fillGaps, type Profile } from './estimate.js';
import { removeDuplicates } from './rules/duplicates.js';
import { checkIntervalSize } from './rules/interval-size.js';
import { removeNegative } from './rules/negative.js';
import { flagSpikes } from './rules/spike.js';
import type { Interval, VeeFinding } from './types.js';

/**
 * The interval rules over one meter channel's run of intervals, in the order an MDM applies
 * them: sort, duplicates, interval size, negative, spike, then estimation of every gap between
 * the first and the last interval. Pure; the caller supplies history as a profile.
 */
export function validateSeries(
  input: Interval[],
  seconds: number,
  cfg: VeeConfig,
  profile?: Profile,
): { intervals: Interval[]; findings: VeeFinding[]; estimated: number } {
  if (!isSorted(input)) input.sort((a, b) => a.startAt - b.startAt);
  const dup = removeDuplicates(input);
  const size = checkIntervalSize(dup.intervals, seconds);
  const neg = removeNegative(size.intervals);
  const spikes = flagSpikes(neg.intervals, cfg.spike);
  const removedBy = new Map<number, string>();
  for (const at of neg.removed) removedBy.set(at, 'NEGATIVE');
  const filled = fillGaps(neg.intervals, seconds, {
    maxLinearSeconds: cfg.maxLinearGapMinutes * 60,
    profile,
    removedBy,
  });
  return {
    intervals: filled.intervals,
    estimated: filled.intervals.length - neg.intervals.length,
    findings: [...dup.findings, ...size.findings, ...neg.findings, ...spikes, ...filled.findings],
  };
}

function isSorted(xs: readonly Interval[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]!.startAt < xs[i - 1]!.startAt) return false;
  return true;
}
