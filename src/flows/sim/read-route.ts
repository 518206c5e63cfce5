/**
 * "Reads" every meter of a route file the way a meter reader's day goes: mostly good reads
 * (radio where there is an ERT, keyed otherwise), some skips (locked gates, dogs), trouble
 * codes, re-keys, the odd high read, GPS and notes. Deterministic for a seed; used by the
 * simulators and the tests. Pure: the start time and zone come in.
 */

import { consumption, wrapOnDials } from '../../core/consumption.js';
import { utcToLocalDigits } from '../../core/local-time.js';
import { decodeLine, encodeLine, splitLines } from '../../core/fixed-width/codec.js';
import type { Layout } from '../../core/fixed-width/layout.js';
import { prng } from '../../infra/billing/reference/seed-data.js';

export interface ReadMix {
  skip: number;
  trouble: number;
  high: number;
  rekey: number;
}

export const DEFAULT_MIX: ReadMix = { skip: 0.04, trouble: 0.02, high: 0.01, rekey: 0.02 };

export interface ReadRouteOptions {
  routeLayout: Layout;
  readLayout: Layout;
  zone: string;
  start: Date;
  seed: number;
  readerId: string;
  mix?: ReadMix;
  /** Seconds between meters. */
  pace?: number;
}

export interface ReadOutcome {
  lines: string[];
  /** What happened at each route line, for tests to check the gateway's view against. */
  kinds: ('read' | 'skip' | 'trouble' | 'high' | 'rekey')[];
}

const SKIPS = ['LOCK', 'DOG', 'CARS', 'NOAC'];
const TROUBLES = ['LEAK', 'TAMP', 'BRKN', 'DIAL'];
const NOTES = ['', '', '', '', 'Gate code 1234', 'Beware of dog', 'Meter box cracked', 'Lid buried', 'Customer home'];

export function readRoute(routeText: string, opts: ReadRouteOptions): ReadOutcome {
  const rnd = prng(opts.seed);
  const mix = opts.mix ?? DEFAULT_MIX;
  const out: ReadOutcome = { lines: [], kinds: [] };
  splitLines(routeText).forEach((text, i) => {
    const { record: r } = decodeLine(opts.routeLayout, text, i + 1);
    const dials = Number(r.dials);
    const prev = Number(r.prev_read);
    const low = consumption(prev, Number(r.low_limit), dials).units;
    const high = consumption(prev, Number(r.high_limit), dials).units;
    const when = new Date(opts.start.getTime() + i * (opts.pace ?? 45) * 1000);
    const roll = rnd();
    let kind: ReadOutcome['kinds'][number] = 'read';
    if (roll < mix.skip) kind = 'skip';
    else if (roll < mix.skip + mix.trouble) kind = 'trouble';
    else if (roll < mix.skip + mix.trouble + mix.high) kind = 'high';
    else if (roll < mix.skip + mix.trouble + mix.high + mix.rekey) kind = 'rekey';
    const used =
      kind === 'high'
        ? high + 1 + Math.floor(rnd() * Math.max(1, high))
        : low + Math.floor(rnd() * Math.max(1, high - low));
    const line: Record<string, unknown> = {
      sequence: r.sequence,
      account: r.account,
      meter_id: r.meter_id,
      register: r.register,
      reading: kind === 'skip' ? null : wrapOnDials(prev + used, dials),
      read_at: utcToLocalDigits(when, opts.zone),
      method: kind === 'skip' ? null : r.ert_id ? 'R' : 'K',
      read_code: kind === 'rekey' ? 'RK' : kind === 'high' && rnd() < 0.5 ? 'HC' : null,
      skip_code: kind === 'skip' ? SKIPS[Math.floor(rnd() * SKIPS.length)] : null,
      trouble_code: kind === 'trouble' ? TROUBLES[Math.floor(rnd() * TROUBLES.length)] : null,
      reader_id: opts.readerId,
      rekeyed: kind === 'rekey' ? 'Y' : null,
      lat: Number((39.78 + rnd() * 0.05).toFixed(6)),
      lon: Number((-89.65 + rnd() * 0.05).toFixed(6)),
      note: NOTES[Math.floor(rnd() * NOTES.length)],
    };
    out.lines.push(encodeLine(opts.readLayout, line, i + 1));
    out.kinds.push(kind);
  });
  return out;
}
