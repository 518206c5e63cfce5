import type { GatewayContext } from '../../src/app/context.js';
import { utcToLocalDigits } from '../../src/core/local-time.js';
import { decodeLine, encodeLine, splitLines } from '../../src/fixed-width/codec.js';
import { readRoute } from '../../src/sim/read-route.js';

/** Reads an exported route the way a meter reader would, for the round-trip tests. */
export function simulateReads(ctx: GatewayContext, routeText: string, start: Date, seed = 7) {
  return readRoute(routeText, {
    routeLayout: ctx.layout('route-v1'), readLayout: ctx.layout('read-v1'), zone: ctx.config.timeZone, start, seed, readerId: 'RDR07',
  });
}

/** A read-v1 line for one route line with the given reading (and any field overrides). */
export function readLineFor(ctx: GatewayContext, routeLine: string, over: Record<string, unknown>): string {
  const { record: r } = decodeLine(ctx.layout('route-v1'), routeLine, 1);
  return encodeLine(ctx.layout('read-v1'), {
    sequence: r.sequence, account: r.account, meter_id: r.meter_id, register: r.register, method: 'K', reader_id: 'RDR07',
    read_at: utcToLocalDigits(new Date('2026-11-23T15:00:00Z'), ctx.config.timeZone), ...over,
  });
}

export function routeFields(ctx: GatewayContext, routeLine: string) {
  return decodeLine(ctx.layout('route-v1'), routeLine, 1).record;
}

export { splitLines };
