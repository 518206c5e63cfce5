import type { DayTotal } from '../../core/vee/rules/daily.js';
import { round6 } from '../../core/vee/types.js';
import type { AmiRegister } from './meter-directory.js';

/** One meter register's local day, as far as this import has delivered it. */
export interface LedgerDay extends DayTotal {
  meterId: string;
  channel: number;
  seconds: number;
}

export interface RegisterDays {
  /** Billing's register, as the import matched it (its derived reads need its dials and last read). */
  register: AmiRegister;
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

  add(register: AmiRegister, seconds: number, totals: readonly DayTotal[]): void {
    const { meterId, registerNo: channel } = register;
    const key = `${meterId}|${channel}`;
    let reg = this.registers.get(key);
    if (!reg) this.registers.set(key, (reg = { register, meterId, channel, seconds, days: [], dirty: false }));
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

  get size(): number {
    return this.registers.size;
  }

  /** The registers whose keys are not in `keep` ("meter|register"), days in order, no longer held. */
  takeExcept(keep: ReadonlySet<string>): RegisterDays[] {
    const out: RegisterDays[] = [];
    for (const [key, r] of this.registers) {
      if (keep.has(key)) continue;
      r.days.sort((a, b) => a.dayStart - b.dayStart);
      out.push(r);
      this.registers.delete(key);
    }
    return out;
  }
}
