import { consumption, wrapOnDials } from './consumption.js';
import type { RouteLine } from './reading-checks.js';

/**
 * The preliminary billing ledger: for every meter register on a cycle's routes, the previous
 * (last billed) read, the current read, the consumption on the dials times the meter's
 * multiplier, whether the read is actual or estimated, what looks wrong, and an estimated
 * charge from the account's rate. It is what a CSR checks before bills go out. Pure: the
 * caller brings the route lines, readings and billing's meters and rates.
 */
export const LEDGER_FLAGS = [
  'high',
  'low',
  'zero',
  'negative',
  'estimated',
  'skipped',
  'missing',
  'held',
  'rollover',
  'corrected',
  // Consumption far from what the account's history expects, whatever the read type (a rollover
  // read of 464,600 units at a hardware store is a misread or a meter problem, not a big month).
  'unusual',
] as const;
export type LedgerFlag = (typeof LEDGER_FLAGS)[number];

/** A route line (as checked at read time), with its route and the units history expects. */
export interface LedgerLine extends RouteLine {
  route: string;
  /** Units expected by the read date from history (null on routes exported before it was kept). */
  expectedUnits: number | null;
}

export interface LedgerReading {
  status: 'valid' | 'held' | 'skipped';
  reading: number | null;
  readType: 'actual' | 'estimated' | 'corrected';
  readAt: string | null;
}

export interface LedgerMeterInfo {
  customerName: string;
  multiplier: number;
  rate: { code: string; fixedCharge: number; unitCharge: number };
}

export interface LedgerRow {
  route: string;
  sequence: number;
  accountNo: string;
  customerName: string | null;
  meterId: string;
  register: number;
  prevRead: number;
  currentRead: number | null;
  /** Units on the register's dials (rollover allowed for). */
  units: number | null;
  multiplier: number;
  /** Billed consumption: units × multiplier. */
  consumption: number | null;
  readType: 'actual' | 'estimated';
  readAt: string | null;
  flags: LedgerFlag[];
  rateCode: string | null;
  estimatedCharge: number | null;
}

export interface LedgerOptions {
  flagZero: boolean;
  /** Consumption more than this many times history's expectation, or less than its share, is `unusual`. */
  unusualFactor: number;
}

/** Far from history: at least `factor` times what history expects, or at most its 1/factor share. */
export function farFromHistory(units: number, expected: number | null, factor: number): boolean {
  if (expected === null || expected < 1) return false;
  return units >= expected * factor || (units >= 0 && units * factor <= expected);
}

const cents = (n: number) => Math.round(n * 100) / 100;

/** Units expected when there is no read: from history, else the middle of the high/low window. */
function expectedUnits(line: LedgerLine): number {
  if (line.expectedUnits !== null) return line.expectedUnits;
  const low = consumption(line.prevRead, line.lowLimit, line.dials).units;
  const high = consumption(line.prevRead, line.highLimit, line.dials).units;
  return Math.round((low + high) / 2);
}

export function ledgerRow(
  line: LedgerLine,
  reading: LedgerReading | undefined,
  meter: LedgerMeterInfo | undefined,
  opts: LedgerOptions & { chargeFixed: boolean },
): LedgerRow {
  const flags: LedgerFlag[] = [];
  let current: number | null;
  let units: number;
  let readType: 'actual' | 'estimated' = 'actual';
  if (!reading || reading.reading === null) {
    // No read: the ledger shows what billing would estimate, and says so.
    flags.push(reading ? 'skipped' : 'missing', 'estimated');
    readType = 'estimated';
    units = expectedUnits(line);
    current = wrapOnDials(line.prevRead + units, line.dials);
  } else {
    current = reading.reading;
    const used = consumption(line.prevRead, current, line.dials);
    units = used.units;
    if (used.rollover) flags.push('rollover');
    if (used.negative) flags.push('negative');
    else if (units > consumption(line.prevRead, line.highLimit, line.dials).units) flags.push('high');
    else if (units < consumption(line.prevRead, line.lowLimit, line.dials).units) flags.push('low');
    if (units === 0 && opts.flagZero) flags.push('zero');
    if (reading.readType === 'estimated') {
      flags.push('estimated');
      readType = 'estimated';
    }
    if (reading.readType === 'corrected') flags.push('corrected');
    if (reading.status === 'held') flags.push('held');
    if (farFromHistory(units, line.expectedUnits, opts.unusualFactor)) flags.push('unusual');
  }
  const multiplier = meter?.multiplier ?? 1;
  const billed = units * multiplier;
  const charge = meter
    ? cents((opts.chargeFixed ? meter.rate.fixedCharge : 0) + Math.max(0, billed) * meter.rate.unitCharge)
    : null;
  return {
    route: line.route,
    sequence: line.sequence,
    accountNo: line.account,
    customerName: meter?.customerName ?? null,
    meterId: line.meterId,
    register: line.register,
    prevRead: line.prevRead,
    currentRead: current,
    units,
    multiplier,
    consumption: billed,
    readType,
    readAt: reading?.readAt ?? null,
    flags,
    rateCode: meter?.rate.code ?? null,
    estimatedCharge: charge,
  };
}

/**
 * The ledger of a cycle, in route and sequence order. An account's fixed charge is counted once,
 * on its first register; usage is charged on every register.
 */
export function buildLedger(
  lines: readonly LedgerLine[],
  readingOf: (line: LedgerLine) => LedgerReading | undefined,
  meterOf: (meterId: string) => LedgerMeterInfo | undefined,
  opts: LedgerOptions,
): LedgerRow[] {
  const charged = new Set<string>();
  const ordered = [...lines].sort((a, b) =>
    a.route === b.route ? a.sequence - b.sequence : a.route < b.route ? -1 : 1,
  );
  return ordered.map((line) => {
    const first = !charged.has(line.account);
    charged.add(line.account);
    return ledgerRow(line, readingOf(line), meterOf(line.meterId), { ...opts, chargeFixed: first });
  });
}

export interface LedgerSummary {
  rows: number;
  accounts: number;
  estimated: number;
  flagged: Record<LedgerFlag, number>;
  consumption: number;
  estimatedTotal: number;
}

export function summarizeLedger(rows: readonly LedgerRow[]): LedgerSummary {
  const flagged = Object.fromEntries(LEDGER_FLAGS.map((f) => [f, 0])) as Record<LedgerFlag, number>;
  let total = 0;
  let used = 0;
  for (const r of rows) {
    for (const f of r.flags) flagged[f]++;
    total += r.estimatedCharge ?? 0;
    used += Math.max(0, r.consumption ?? 0);
  }
  return {
    rows: rows.length,
    accounts: new Set(rows.map((r) => r.accountNo)).size,
    estimated: rows.filter((r) => r.readType === 'estimated').length,
    flagged,
    consumption: Math.round(used * 10_000) / 10_000,
    estimatedTotal: cents(total),
  };
}
