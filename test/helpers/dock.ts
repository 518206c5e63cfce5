import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GatewayContext } from '../../src/flows/context.js';
import type { Config } from '../../src/infra/config/schema.js';
import { DockService } from '../../src/flows/dock/dock-service.js';
import { HandheldDevice, type HandheldOptions } from '../../src/flows/sim/handheld/device.js';
import { NOW } from './gateway.js';
import { transportFor } from '../../adapters/handheld-serial/transport.js';
import { paceWrites } from '../../src/flows/sim/handheld/pacing.js';
import type { ReadMix } from '../../src/flows/sim/read-route.js';

/** A dock service on a test gateway's context, with its own data dir and the given ports. */
export function dockService(
  ctx: GatewayContext,
  ports: string[],
  dock: Partial<Config['dock']> = {},
  opts: { paceBaud?: number } = {},
): { service: DockService; ctx: GatewayContext; dataDir: string } {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fg-dock-'));
  const config: Config = {
    ...ctx.config,
    dataDir,
    dock: {
      ...ctx.config.dock,
      ...dock,
      ports: ports.map((p, i) => ({ name: `dock${i + 1}`, path: p, baudRate: 115_200 })),
    },
  };
  const dockCtx = { ...ctx, config };
  // Paced like a real UART, the gateway's side of the line drains at line rate too.
  const openTransport = opts.paceBaud
    ? (port: string, baudRate: number) => {
        const t = transportFor(port, { baudRate });
        paceWrites(t, opts.paceBaud!);
        return t;
      }
    : undefined;
  return { service: new DockService(dockCtx, { openTransport }), ctx: dockCtx, dataDir };
}

/** A simulated hand-held with its own flash directory, reading with the test zone and layouts. */
export function handheld(
  ctx: GatewayContext,
  opts: Partial<HandheldOptions> & { deviceId: string; port: string; now?: () => Date; mix?: ReadMix; zone?: string },
): HandheldDevice {
  const { now, mix, zone, ...rest } = opts;
  return new HandheldDevice({
    dir: mkdtempSync(path.join(tmpdir(), `fg-${opts.deviceId}-`)),
    reading: {
      routeLayout: ctx.layout('route-v1'),
      readLayout: ctx.layout('read-v1'),
      // The device's own setting; WELCOME's zone takes its place once docked (revision 2).
      zone: zone ?? ctx.config.timeZone,
      readerId: 'SIM01',
      seed: 11,
      now: now ?? (() => NOW),
      mix,
    },
    ...rest,
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `check` returns a value (not undefined/false), or fails naming what it waited for. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<Exclude<T, false | undefined | null>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value as Exclude<T, false | undefined | null>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves with the arguments of the next `event` the emitter fires. */
export function nextEvent<A extends unknown[]>(
  emitter: { once(event: string, fn: (...args: A) => void): unknown },
  event: string,
  timeoutMs = 30_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (...args: A) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}
