/** A billing meter register as AMI data needs it. */

import type { Billing } from '../../infra/billing/billing.js';
import { normaliseUnit, unitFactor } from '../../core/vee/rules/units.js';

/**
 * Units a source may name instead of a register (wmbusmeters). Each has a channel of its own, 0
 * and below, so a meter's quantities of different units are separate series and separate parked
 * rows (the suspense area is keyed by channel and time: one channel for all units kept only the
 * first of a heat meter's volume and energy at the same time).
 */
const BY_UNIT = ['M3', 'L', 'KWH', 'MWH', 'GJ', 'MJ', 'HCA', 'KVARH'];

/** The channel that names "the meter's register in this unit": -1 for M3, -2 for L, …; 0 for any other unit. */
export function byUnitChannel(unit: string): number {
  return -(BY_UNIT.indexOf(normaliseUnit(unit)) + 1);
}

/** Whether a source channel names a unit rather than a register. */
export function isByUnitChannel(channel: number): boolean {
  return channel <= 0;
}

export interface AmiRegister {
  meterId: string;
  accountNo: string | null;
  meterType: string;
  dials: number;
  multiplier: number;
  registerNo: number;
  uom: string;
  lastReadValue: number;
  lastReadDate: string;
}

/**
 * Billing's meters, looked up by the names AMI sources use: the meter id, the radio (ERT) id or
 * the serial (a meter id always wins over another meter's alias).
 * Loaded once per import (a few MB even for a large utility), so matching costs a map lookup.
 */
export class MeterDirectory {
  private readonly byRef = new Map<string, Map<number, AmiRegister>>();

  /** Billing's meters, and the names CSRs claimed for them (`fieldgate ami claim`). */
  static async load(
    billing: Billing,
    claims: readonly { meter_ref: string; meter_id: string }[] = [],
  ): Promise<MeterDirectory> {
    const dir = new MeterDirectory();
    const aliases: [string, AmiRegister][] = [];
    for (const r of await billing.meterRegisters()) {
      const reg = amiRegister(r);
      dir.add(reg.meterId, reg);
      // A source may name the meter by its radio (ERT) id, or by its serial (a NEM12 200 record's MeterSerialNumber).
      for (const alias of [r.radioId, r.serial]) {
        const name = alias == null ? '' : String(alias).trim();
        if (name !== '' && name !== reg.meterId) aliases.push([name, reg]);
      }
    }
    for (const [name, reg] of aliases) {
      const owner = dir.byRef.get(name)?.values().next().value;
      if (!owner || owner.meterId === reg.meterId) dir.add(name, reg);
    }
    // A claim names a meter for a source's name; it never takes a name billing itself uses.
    for (const c of claims) {
      const regs = dir.byRef.get(c.meter_id);
      if (regs && !dir.byRef.has(c.meter_ref)) for (const reg of regs.values()) dir.add(c.meter_ref, reg);
    }
    return dir;
  }

  add(ref: string, reg: AmiRegister): void {
    const regs = this.byRef.get(ref) ?? new Map<number, AmiRegister>();
    regs.set(reg.registerNo, reg);
    this.byRef.set(ref, regs);
  }

  /** The register a source's channel maps to, trying each name the source gives. */
  find(refs: readonly string[], channel: number): { register: AmiRegister | null; meterKnown: boolean } {
    for (const ref of refs) {
      const regs = this.byRef.get(ref) ?? this.byRef.get(ref.replace(/^0+/, ''));
      if (regs) return { register: regs.get(channel) ?? null, meterKnown: true };
    }
    return { register: null, meterKnown: false };
  }

  /** The meter's lowest-numbered register whose unit the source's unit converts to (M3 → a GAL register). */
  findByUnit(refs: readonly string[], unit: string): { register: AmiRegister | null; meterKnown: boolean } {
    for (const ref of refs) {
      const regs = this.byRef.get(ref) ?? this.byRef.get(ref.replace(/^0+/, ''));
      if (!regs) continue;
      const fits = [...regs.values()]
        .filter((r) => unitFactor(unit, r.uom) !== null)
        .sort((a, b) => a.registerNo - b.registerNo);
      return { register: fits[0] ?? null, meterKnown: true };
    }
    return { register: null, meterKnown: false };
  }

  /** The billing meter the first known name belongs to, whatever its registers. */
  meterOf(refs: readonly string[]): string | null {
    for (const ref of refs) {
      const regs = this.byRef.get(ref) ?? this.byRef.get(ref.replace(/^0+/, ''));
      const first = regs?.values().next().value;
      if (first) return first.meterId;
    }
    return null;
  }

  get size(): number {
    return this.byRef.size;
  }

  /** A directory loaded at most every `ttlMs`: for services that match meters all day long. */
  /**
   * A directory reloaded at most every `ttlMs`, and sooner when asked to (`fresh`: a name it
   * did not know, at most once every `missMs`), so a radio id added to billing is matched on
   * the next message rather than after the cache runs out.
   */
  static cached(
    billing: Billing,
    claims: () => Promise<{ meter_ref: string; meter_id: string }[]>,
    opts: { ttlMs?: number; missMs?: number } = {},
  ): (fresh?: boolean) => Promise<MeterDirectory> {
    const ttlMs = opts.ttlMs ?? 300_000;
    const missMs = opts.missMs ?? 5_000;
    let held: { at: number; dir: MeterDirectory } | null = null;
    return async (fresh = false) => {
      const age = held ? Date.now() - held.at : Infinity;
      if (age > ttlMs || (fresh && age > missMs))
        held = { at: Date.now(), dir: await MeterDirectory.load(billing, await claims()) };
      return held!.dir;
    };
  }
}

function amiRegister(r: Record<string, unknown>): AmiRegister {
  return {
    meterId: String(r.meterId),
    accountNo: r.accountNo == null ? null : String(r.accountNo),
    meterType: String(r.meterType),
    dials: Number(r.dials),
    multiplier: Number(r.multiplier),
    registerNo: Number(r.registerNo),
    uom: String(r.uom),
    lastReadValue: Number(r.lastReadValue),
    lastReadDate: String(r.lastReadDate instanceof Date ? r.lastReadDate.toISOString() : r.lastReadDate).slice(0, 10),
  };
}

/** The accepted times of a live radio read (epoch seconds): not older than maxAgeDays, not ahead by more than maxAheadMinutes. */
export function acceptedWindow(
  now: Date,
  bounds: { maxAgeDays: number; maxAheadMinutes: number },
): { from: number; to: number } {
  const seconds = Math.floor(now.getTime() / 1000);
  return {
    from: seconds - Math.round(bounds.maxAgeDays * 86_400),
    to: seconds + Math.round(bounds.maxAheadMinutes * 60),
  };
}
