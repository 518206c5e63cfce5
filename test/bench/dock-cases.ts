import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialTransport, transportFor } from '../../adapters/handheld-serial/transport.js';
import { paceWrites } from '../../src/flows/sim/handheld/pacing.js';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { DockService } from '../../src/flows/dock/dock-service.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { HandheldDevice } from '../../src/flows/sim/handheld/device.js';
import { ptyPair, type PtyPair } from '../helpers/pty.js';
import { relay, type Relay } from './line-relay.js';
import type { DockRun } from './dock-run.js';

/**
 * Dock benchmark cases, one per process (`node dock-cases.js <case>`), each printing one JSON
 * line. Every case moves 1,000-meter routes over real PTY pairs made by socat: down (load) and,
 * after the simulator read them, up (unload). With `baud`, a relay between two PTY pairs paces
 * the line like a UART and may damage frames; the numbers are the device's view of each file
 * (first DATA to last), so they are useful file bytes, not line bytes.
 */
const NOW = new Date('2026-11-23T23:00:00Z');
const METERS_PER_ROUTE = 1010;

async function runDocks(docks: number, line: { baud?: number; corruptFrameFraction?: number }): Promise<DockRun[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-dock-'));
  const pairs: PtyPair[] = [];
  const relays: Relay[] = [];
  const transports: SerialTransport[] = [];
  const devices: HandheldDevice[] = [];
  const ports: { gateway: string; device: string }[] = [];
  for (let i = 0; i < docks; i++) {
    const gatewaySide = await ptyPair();
    pairs.push(gatewaySide);
    if (line.baud === undefined && line.corruptFrameFraction === undefined) {
      ports.push({ gateway: gatewaySide.a, device: gatewaySide.b });
      continue;
    }
    const deviceSide = await ptyPair();
    pairs.push(deviceSide);
    const left = new SerialTransport(gatewaySide.b, 115_200);
    const right = new SerialTransport(deviceSide.a, 115_200);
    await left.open();
    await right.open();
    transports.push(left, right);
    relays.push(relay(left, right, { baud: line.baud, corruptFrameFraction: line.corruptFrameFraction, seed: 17 + i }));
    ports.push({ gateway: gatewaySide.a, device: deviceSide.b });
  }
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: path.join(dir, 'data'),
      store: { url: `sqlite:${path.join(dir, 'store.sqlite')}` },
      billing: {
        url: `sqlite:${path.join(dir, 'billing.sqlite')}`,
        demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 },
      },
      // The bench's hand-helds are the utility's own: no admin approval step.
      dock: { ports: ports.map((p) => ({ path: p.gateway })), approveAllDevices: true },
    },
  });
  const ctx = openContext(config, silentLogger(), () => NOW);
  await seedReferenceBilling(ctx.billing.db, {
    accounts: METERS_PER_ROUTE * docks,
    routes: docks,
    seed: 42,
    today: NOW.toISOString().slice(0, 10),
  });
  await prepare(ctx);
  // With a baud rate, both ends write like a UART (a write drains when its last byte left the
  // line), so FDP/1's resend timer starts at line time, as on a real serial port; the relay
  // between them is the line itself.
  const paced = line.baud;
  const openTransport = paced
    ? (port: string, baudRate: number) => {
        const t = transportFor(port, { baudRate });
        paceWrites(t, paced);
        return t;
      }
    : undefined;
  const service = new DockService(ctx, { openTransport });
  try {
    await service.start();
    const layouts = { routeLayout: ctx.layout('route-v1'), readLayout: ctx.layout('read-v1') };
    const routes = (await ctx.billing.listRoutes()).map((r) => r.code);
    const runs = await Promise.all(
      ports.map(async (p, i) => {
        const device = new HandheldDevice({
          deviceId: `HH-${100 + i}`,
          port: p.device,
          dir: path.join(dir, `hh-${i}`),
          maxFrame: 4096,
          paceBaud: paced,
          reading: { ...layouts, zone: config.timeZone, readerId: 'BENCH', seed: i, now: () => NOW },
        });
        devices.push(device);
        const welcomed = once(device, 'welcome');
        await device.start();
        await welcomed;
        const run: DockRun = {
          loadBytes: 0,
          loadSeconds: 0,
          unloadBytes: 0,
          unloadSeconds: 0,
          dataFrames: 0,
          resent: 0,
        };
        let began = 0;
        device.once('loadBegin', () => (began = performance.now()));
        const loaded = once(device, 'loaded');
        await assignRoute(ctx, { routeCode: routes[i]!, deviceId: `HH-${100 + i}`, actor: 'bench' });
        await loaded;
        run.loadSeconds = (performance.now() - began) / 1000;
        run.loadBytes = device.storage.routeFile(routes[i]!).length;
        device.readRoutes();
        run.unloadBytes = device.storage.readings(routes[i]!)!.length;
        device.once('unloadBegin', () => (began = performance.now()));
        const cleared = once(device, 'cleared');
        // The unload ends when the gateway has the whole file; CLEAR waits for the store, which is not the line's time.
        const received = new Promise<void>((resolve) => {
          const check = (s: {
            name: string;
            transfer: { direction: string; bytesDone: number; bytesTotal: number } | null;
          }) => {
            if (
              s.name !== `dock${i + 1}` ||
              s.transfer?.direction !== 'unload' ||
              s.transfer.bytesDone < s.transfer.bytesTotal
            )
              return;
            service.off('status', check);
            resolve();
          };
          service.on('status', check);
        });
        device.redock();
        await received;
        run.unloadSeconds = (performance.now() - began) / 1000;
        await cleared;
        const chunk = 1024 - 4;
        run.dataFrames = Math.ceil(run.loadBytes / chunk) + Math.ceil(run.unloadBytes / chunk);
        run.resent = service.status()[i]!.counters.resent + device.framesResent;
        return run;
      }),
    );
    return runs;
  } finally {
    for (const d of devices) await d.stop();
    await service.stop();
    for (const r of relays) r.stop();
    for (const t of transports) await t.close();
    for (const p of pairs) await p.pull();
    await closeContext(ctx);
    rmSync(dir, { recursive: true, force: true });
  }
}

function once(emitter: { once(event: string, fn: (...a: unknown[]) => void): unknown }, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within 180 s`)), 180_000);
    emitter.once(event, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

const cases: Record<string, () => Promise<DockRun[]>> = {
  paced: () => runDocks(1, { baud: 115_200 }),
  unpaced: () => runDocks(1, {}),
  corrupt: () => runDocks(1, { baud: 115_200, corruptFrameFraction: 0.01 }),
  eight: () => runDocks(8, { baud: 115_200 }),
};

const name = process.argv[2] ?? '';
const chosen = cases[name];
if (!chosen) {
  console.error(`usage: dock-cases.js <${Object.keys(cases).join('|')}>`);
  process.exit(2);
}
const result = await chosen();
console.log(JSON.stringify(result));
process.exit(0);
