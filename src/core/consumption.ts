/**
 * Consumption between two register reads on a meter with `dials` digits. Registers wrap at
 * 10^dials, so a 4-dial register going 9,950 → 0,030 used 80 units. A lower read is taken as
 * a rollover only when that is the shorter way round the dial; otherwise it went backwards.
 */

export interface Consumption {
  units: number;
  rollover: boolean;
  negative: boolean;
}

export function consumption(previous: number, current: number, dials: number): Consumption {
  if (current >= previous) return { units: current - previous, rollover: false, negative: false };
  const forward = current + 10 ** dials - previous;
  const backward = previous - current;
  return forward < backward
    ? { units: forward, rollover: true, negative: false }
    : { units: -backward, rollover: false, negative: true };
}

/** A register value → the same value wrapped onto the dials (limits may pass 10^dials). */
export function wrapOnDials(value: number, dials: number): number {
  const capacity = 10 ** dials;
  return ((value % capacity) + capacity) % capacity;
}
