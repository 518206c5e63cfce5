import { prng } from '../../src/infra/billing/reference/seed-data.js';

/**
 * What one fault run does, drawn from its seed alone (pure), so a failing run is replayed with
 * `--seed`: which store, how noisy the hand-held's cable is, how much work the field sends, and
 * which faults strike when. Process timing is the machine's own, so a replay repeats the plan,
 * not every interleaving; a real bug shows up again within a few replays.
 */
export const FAULT_KINDS = [
  'kill-gateway',
  'broker-restart',
  'postgres-down',
  'pty-pull',
  'disk-full',
  'clock-jump',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultStep {
  /** Milliseconds after the field's traffic starts. */
  at: number;
  kind: FaultKind;
  /** How long the fault lasts (down time, full-disk time); for clock-jump, unused. */
  ms: number;
  /** clock-jump only: libfaketime's offset, e.g. "+7h" or "-45m". */
  offset?: string;
}

export interface RunPlan {
  seed: number;
  store: 'sqlite' | 'postgres';
  /** Fraction of bytes the hand-held flips on its cable, both ways. */
  corruptBytes: number;
  workOrders: number;
  amiFiles: number;
  faults: FaultStep[];
  /** Billing through its tables, or through files (billing.mode files: the CIS's import files are checked too). */
  billing: 'database' | 'files';
}

/** Faults land in this window after traffic starts. */
export const FAULT_WINDOW_MS = 6000;

export function planRun(seed: number): RunPlan {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const between = (lo: number, hi: number) => Math.round(lo + rnd() * (hi - lo));
  const faults: FaultStep[] = [];
  const count = between(2, 4);
  for (let i = 0; i < count; i++) {
    const kind = pick(FAULT_KINDS);
    const step: FaultStep = {
      at: between(200, FAULT_WINDOW_MS),
      kind,
      ms: kind === 'disk-full' ? between(500, 3000) : between(200, 1500),
    };
    if (kind === 'clock-jump') step.offset = rnd() < 0.5 ? `+${between(1, 48)}h` : `-${between(5, 120)}m`;
    faults.push(step);
  }
  faults.sort((a, b) => a.at - b.at);
  return {
    seed,
    store: rnd() < 0.5 ? 'sqlite' : 'postgres',
    // Up to 3 bytes in 10,000 flipped: about a quarter of 1 KiB frames damaged, resent by FDP/1.
    corruptBytes: rnd() < 0.5 ? 0 : Math.round(rnd() * 3) / 10_000,
    workOrders: between(2, 5),
    amiFiles: between(1, 2),
    faults,
    // Drawn last, so the earlier draws of a seed stay what they were.
    billing: rnd() < 0.35 ? 'files' : 'database',
  };
}

/** The runs of one suite: `count` seeds drawn from the suite's seed. */
export function runSeeds(suiteSeed: number, count: number): number[] {
  const rnd = prng(suiteSeed);
  return Array.from({ length: count }, () => 1 + Math.floor(rnd() * 2_000_000_000));
}

export function describePlan(p: RunPlan): string {
  const faults = p.faults
    .map((f) => `${f.kind}@${f.at}ms${f.kind === 'clock-jump' ? `(${f.offset})` : `(${f.ms}ms)`}`)
    .join(' ');
  return `store=${p.store} billing=${p.billing} corrupt=${p.corruptBytes} orders=${p.workOrders} ami=${p.amiFiles} faults: ${faults}`;
}
