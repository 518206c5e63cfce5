/** A billing meter register as AMI data needs it. */

import { byMeterAndRegister, type Billing } from '../../infra/billing/billing.js';
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

/** How an import finds billing's register for a source's meter name: `prepare` the names, then look up. */
export interface MeterLookup {
  /** Makes the names (and their claims) ready for the lookups that follow; a whole directory has nothing to do. */
  prepare(refs: Iterable<string>): Promise<void>;
  find(refs: readonly string[], channel: number): { register: AmiRegister | null; meterKnown: boolean };
  findByUnit(refs: readonly string[], unit: string): { register: AmiRegister | null; meterKnown: boolean };
  meterOf(refs: readonly string[]): string | null;
}

/** The lookups both directories answer the same way, from the registers a source's names map to. */
abstract class NamedRegisters implements MeterLookup {
  abstract prepare(refs: Iterable<string>): Promise<void>;

  /** The registers of the first of the names (as given, then without leading zeros) billing knows. */
  protected abstract registers(refs: readonly string[]): ReadonlyMap<number, AmiRegister> | null;

  /** The register a source's channel maps to, trying each name the source gives. */
  find(refs: readonly string[], channel: number): { register: AmiRegister | null; meterKnown: boolean } {
    const regs = this.registers(refs);
    return regs ? { register: regs.get(channel) ?? null, meterKnown: true } : { register: null, meterKnown: false };
  }

  /** The meter's lowest-numbered register whose unit the source's unit converts to (M3 → a GAL register). */
  findByUnit(refs: readonly string[], unit: string): { register: AmiRegister | null; meterKnown: boolean } {
    const regs = this.registers(refs);
    return regs ? { register: lowestFitting(regs, unit), meterKnown: true } : { register: null, meterKnown: false };
  }

  /** The billing meter the first known name belongs to, whatever its registers. */
  meterOf(refs: readonly string[]): string | null {
    return this.registers(refs)?.values().next().value?.meterId ?? null;
  }
}

/** A source's name as billing may hold it: as given, and without leading zeros. */
function spellings(ref: string): string[] {
  const bare = ref.replace(/^0+/, '');
  return bare === ref || bare === '' ? [ref] : [ref, bare];
}

/**
 * Billing's meters, looked up by the names AMI sources use: the meter id, the radio (ERT) id or
 * the serial (a meter id always wins over another meter's alias).
 * A whole directory: for the live radio sources and suspense, which match a few names at a time
 * all day. An AMI file uses BillingMeterLookup, which holds only the meters of the part it is on.
 */
export class MeterDirectory extends NamedRegisters {
  private readonly byRef = new Map<string, Map<number, AmiRegister>>();

  /** Billing's meters, and the names CSRs claimed for them (`fieldgate ami claim`). */
  static async load(
    billing: Billing,
    claims: readonly { meter_ref: string; meter_id: string }[] = [],
  ): Promise<MeterDirectory> {
    return MeterDirectory.fromRows(await billing.meterRegisters(), claims);
  }

  /** A directory of these billing rows (in meter order) and claims, by the precedence rules above. */
  static fromRows(
    rows: readonly Record<string, unknown>[],
    claims: readonly { meter_ref: string; meter_id: string }[],
  ): MeterDirectory {
    const dir = new MeterDirectory();
    const aliases: [string, AmiRegister][] = [];
    for (const r of rows) {
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

  async prepare(): Promise<void> {}

  /** The registers a name maps to exactly as given (no leading-zero retry), if any. */
  registersOf(ref: string): ReadonlyMap<number, AmiRegister> | undefined {
    return this.byRef.get(ref);
  }

  add(ref: string, reg: AmiRegister): void {
    const regs = this.byRef.get(ref) ?? new Map<number, AmiRegister>();
    regs.set(reg.registerNo, reg);
    this.byRef.set(ref, regs);
  }

  protected registers(refs: readonly string[]): ReadonlyMap<number, AmiRegister> | null {
    for (const ref of refs) for (const name of spellings(ref)) if (this.byRef.has(name)) return this.byRef.get(name)!;
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

/**
 * Billing's meters looked up as an import needs them: before each part of a file is validated,
 * the names in it that are not held yet are asked of billing by meter id, then the rest by radio
 * id and serial (indexed lookups, a few per part), then claims. What is held is bounded by
 * `maxNames`, not by billing's size: a 1,000,000-meter utility's directory is about 900 MB, a part's
 * meters a few hundred kB. The answers are those of a whole directory: a meter id wins over
 * another meter's alias, an alias belongs to the first meter in meter order that has it, and a
 * claim counts only for a name billing does not use.
 */
export class BillingMeterLookup extends NamedRegisters {
  /** Each name asked for, with the registers it maps to (null: billing has no such name). */
  private readonly held = new Map<string, ReadonlyMap<number, AmiRegister> | null>();
  private readonly claims = new Map<string, string>();

  constructor(
    private readonly billing: Pick<Billing, 'meterRegistersNamed'>,
    claims: readonly { meter_ref: string; meter_id: string }[] = [],
    private readonly maxNames = 100_000,
  ) {
    super();
    for (const c of claims) this.claims.set(c.meter_ref, c.meter_id);
  }

  async prepare(refs: Iterable<string>): Promise<void> {
    const wanted = new Set<string>();
    for (const ref of refs) for (const name of spellings(ref)) if (!this.held.has(name)) wanted.add(name);
    if (wanted.size === 0) return;
    if (this.held.size + wanted.size > this.maxNames) this.held.clear();
    const names = [...wanted];
    const byId = await this.billing.meterRegistersNamed('meterId', names);
    const ids = new Set(byId.map((r) => String(r.meterId)));
    const others = names.filter((n) => !ids.has(n));
    const byAlias =
      others.length === 0
        ? []
        : [
            ...(await this.billing.meterRegistersNamed('radioId', others)),
            ...(await this.billing.meterRegistersNamed('serial', others)),
          ];
    const aliased = new Set(byAlias.flatMap((r) => [String(r.radioId ?? '').trim(), String(r.serial ?? '').trim()]));
    const claimed = others.filter((n) => !aliased.has(n) && this.claims.has(n));
    const byClaim = claimed.length
      ? await this.billing.meterRegistersNamed(
          'meterId',
          claimed.map((n) => this.claims.get(n)!),
        )
      : [];
    const rows = uniqueRows([...byId, ...byAlias, ...byClaim]);
    const dir = MeterDirectory.fromRows(
      rows,
      claimed.map((n) => ({ meter_ref: n, meter_id: this.claims.get(n)! })),
    );
    // Only the names asked for are kept: an alias of a meter fetched by its id may belong to another meter.
    for (const name of names) this.held.set(name, dir.registersOf(name) ?? null);
  }

  protected registers(refs: readonly string[]): ReadonlyMap<number, AmiRegister> | null {
    for (const ref of refs) {
      for (const name of spellings(ref)) {
        if (!this.held.has(name)) throw new Error(`meter name '${name}' was looked up before it was prepared`);
        const regs = this.held.get(name);
        if (regs) return regs;
      }
    }
    return null;
  }
}

/** Rows fetched by more than one name once, still in meter and register order. */
function uniqueRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const seen = new Map<string, Record<string, unknown>>();
  for (const r of rows) seen.set(`${String(r.meterId)}|${String(r.registerNo)}`, r);
  return [...seen.values()].sort(byMeterAndRegister);
}

/** The meter's lowest-numbered register whose unit the source's unit converts to. */
function lowestFitting(regs: ReadonlyMap<number, AmiRegister>, unit: string): AmiRegister | null {
  const fits = [...regs.values()]
    .filter((r) => unitFactor(unit, r.uom) !== null)
    .sort((a, b) => a.registerNo - b.registerNo);
  return fits[0] ?? null;
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
