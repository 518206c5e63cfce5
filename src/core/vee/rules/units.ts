import type { VeeFinding } from '../types.js';

/**
 * Unit and multiplier checks. A source's unit must convert to the register's unit in billing
 * (Wh → kWh, cubic metres → gallons); a unit of another commodity (kWh on a water meter) is an
 * error and the channel is not stored.
 */
const TO_BASE: Record<string, { base: string; factor: number }> = {
  WH: { base: 'KWH', factor: 0.001 },
  KWH: { base: 'KWH', factor: 1 },
  MWH: { base: 'KWH', factor: 1000 },
  // Heat meters (wireless M-Bus) count energy in MJ or GJ too.
  MJ: { base: 'KWH', factor: 1 / 3.6 },
  GJ: { base: 'KWH', factor: 1000 / 3.6 },
  GAL: { base: 'GAL', factor: 1 },
  L: { base: 'GAL', factor: 0.264172052 },
  KL: { base: 'GAL', factor: 264.172052 },
  M3: { base: 'GAL', factor: 264.172052 },
  CF: { base: 'GAL', factor: 7.48051948 },
  CCF: { base: 'GAL', factor: 748.051948 },
  // Reactive energy (NEM12's Q and K streams).
  VARH: { base: 'KVARH', factor: 0.001 },
  KVARH: { base: 'KVARH', factor: 1 },
  MVARH: { base: 'KVARH', factor: 1000 },
  THERM: { base: 'THERM', factor: 1 },
  // Heat cost allocator units: a count of its own, comparable only with itself.
  HCA: { base: 'HCA', factor: 1 },
  DTH: { base: 'THERM', factor: 10 },
};

/** Spellings sources use for the same unit. */
const ALIASES: Record<string, string> = {
  KW_H: 'KWH',
  'KW-H': 'KWH',
  GALLON: 'GAL',
  GALLONS: 'GAL',
  FT3: 'CF',
  M3: 'M3',
  THM: 'THERM',
  THERMS: 'THERM',
  KL: 'KL',
};

export function normaliseUnit(unit: string): string {
  const u = unit.trim().toUpperCase();
  return ALIASES[u] ?? u;
}

/** The factor that turns `from` into `to`, or null when they measure different things. */
export function unitFactor(from: string, to: string): number | null {
  const a = TO_BASE[normaliseUnit(from)];
  const b = TO_BASE[normaliseUnit(to)];
  if (!a || !b || a.base !== b.base) return null;
  return a.factor / b.factor;
}

export function checkUnit(from: string, to: string): { factor: number | null; findings: VeeFinding[] } {
  const factor = unitFactor(from, to);
  if (factor !== null) return { factor, findings: [] };
  return {
    factor: null,
    findings: [
      {
        rule: 'UNIT',
        severity: 'error',
        field: 'unit',
        value: from,
        message: `unit ${from} does not convert to the register's ${to}`,
      },
    ],
  };
}

/**
 * A source that states a multiplier (CMEP's calculation constant) must agree with billing's
 * meter multiplier, or state 1 (values already in engineering units).
 */
export function checkMultiplier(sourceConstant: number, meterMultiplier: number): VeeFinding[] {
  if (sourceConstant === 1 || sourceConstant === meterMultiplier) return [];
  return [
    {
      rule: 'MULTIPLIER',
      severity: 'warn',
      field: 'constant',
      value: sourceConstant,
      message: `source constant ${sourceConstant} differs from the meter's multiplier ${meterMultiplier}`,
    },
  ];
}
