import { z } from 'zod';

/** Every VEE rule's settings, in config under `ami.vee`. Defaults live in config/defaults.json. */
export const veeConfigSchema = z.strictObject({
  /** Gaps up to this long are filled by linear interpolation; longer ones from history. */
  maxLinearGapMinutes: z.number().int().min(0),
  /** Weeks of same-day-type history that the historical estimate averages. */
  historyWeeks: z.number().int().min(1).max(52),
  /** A spike: an interval above factor × the median of its neighbours (and above minValue). */
  spike: z.strictObject({
    factor: z.number().min(1),
    window: z.number().int().min(2).max(96),
    minValue: z.number().min(0),
  }),
  /** A day's total against the meter's recent daily average. */
  daily: z.strictObject({
    highFactor: z.number().min(1),
    lowFactor: z.number().min(0).max(1),
    historyDays: z.number().int().min(1),
    minHistoryDays: z.number().int().min(1),
  }),
  /** Days in a row with zero consumption before a CSR hears about it. */
  zeroDays: z.number().int().min(1),
  /** Allowed difference between the intervals' sum and the register delta, as a fraction. */
  sumTolerance: z.number().min(0).max(1),
});

export type VeeConfig = z.infer<typeof veeConfigSchema>;
