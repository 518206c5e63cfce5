import type { DayTotal } from '../../core/vee/rules/daily.js';
import { round6 } from '../../core/vee/types.js';

/** One meter register's local day, as far as this import has delivered it. */
export interface LedgerDay extends DayTotal {
  meterId: string;
  channel: number;
  seconds: number;
}

export interface RegisterDays {
  meterId: string;
  channel: number;
  seconds: number;
  days: LedgerDay[];
  /** Some of this register's rows met rows already stored (kept instead): totals must come from the store. */
  dirty: boolean;
}

/**
 * Day totals per meter register across an import's flushes, so daily reads are derived
 * without reading the intervals back. Bounded by meters × days in the file, not by intervals.
 */
export class DayLedger {
  private readonly registers = new Map<string, RegisterDays>();

  add(meterId: string, channel: number, seconds: number, totals: readonly DayTotal[]): void {
    const key = `${meterId}|${channel}`;
    let reg = this.registers.get(key);
    if (!reg) this.registers.set(key, (reg = { meterId, channel, seconds, days: [], dirty: false }));
    for (const t of totals) {
      // Flushes arrive in time order for a register, so the day to add to is nearly always the last.
      const d = reg.days.findLast((x) => x.date === t.date);
      if (!d) reg.days.push({ ...t, meterId, channel, seconds });
      else {
        d.total = round6(d.total + t.total);
        d.intervals += t.intervals;
        d.estimated += t.estimated;
      }
    }
  }

  markDirty(keys: Iterable<string>): void {
    for (const k of keys) {
      const reg = this.registers.get(k);
      if (reg) reg.dirty = true;
    }
  }

  all(): RegisterDays[] {
    const out = [...this.registers.values()];
    for (const r of out) r.days.sort((a, b) => a.dayStart - b.dayStart);
    return out;
  }
}
