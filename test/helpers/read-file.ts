import type { GatewayContext } from '../../src/flows/context.js';
import { utcToLocalDigits } from '../../src/core/local-time.js';
import { decodeLine, encodeLine, splitLines } from '../../src/core/fixed-width/codec.js';
import { readRoute, type ReadMix } from '../../src/flows/sim/read-route.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';

/** Reads an exported route the way a meter reader would, for the round-trip tests. */
export function simulateReads(ctx: GatewayContext, routeText: string, start: Date, seed = 7, mix?: ReadMix) {
  return readRoute(routeText, {
    routeLayout: ctx.layout('route-v1'),
    readLayout: ctx.layout('read-v1'),
    zone: ctx.config.timeZone,
    start,
    seed,
    readerId: 'RDR07',
    mix,
  });
}

/** A read-v1 line for one route line with the given reading (and any field overrides). */
export function readLineFor(ctx: GatewayContext, routeLine: string, over: Record<string, unknown>): string {
  const { record: r } = decodeLine(ctx.layout('route-v1'), routeLine, 1);
  return encodeLine(ctx.layout('read-v1'), {
    sequence: r.sequence,
    account: r.account,
    meter_id: r.meter_id,
    register: r.register,
    method: 'K',
    reader_id: 'RDR07',
    read_at: utcToLocalDigits(new Date('2026-11-23T15:00:00Z'), ctx.config.timeZone),
    ...over,
  });
}

export function routeFields(ctx: GatewayContext, routeLine: string) {
  return decodeLine(ctx.layout('route-v1'), routeLine, 1).record;
}

export { splitLines };

/**
 * A route read and back in the store: exported from billing, read by the simulated reader
 * (skips, trouble codes, high reads, re-keys), and imported. Returns the files and the summary.
 */
export async function readRouteIntoStore(
  ctx: GatewayContext,
  routeCode: string,
  opts: { seed?: number; mix?: ReadMix } = {},
) {
  const exported = await exportRoute(ctx, { routeCode, actor: 'test' });
  // Early enough that a long route's walk ends before the tests' now (reads in the future are refused).
  const day = simulateReads(
    ctx,
    exported.content.toString('latin1'),
    new Date('2026-11-23T10:00:00Z'),
    opts.seed ?? 7,
    opts.mix,
  );
  const readText = day.lines.map((l) => `${l}\r\n`).join('');
  const summary = await importReadings(ctx, bufferLineSource(`${routeCode}.txt`, Buffer.from(readText, 'latin1')), {
    source: 'file',
    actor: 'test',
    route: { code: routeCode },
  });
  return { routeText: exported.content.toString('latin1'), readText, day, summary, cycle: exported.route.cycle };
}
