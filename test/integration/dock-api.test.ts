import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from '../../src/entry/api/app.js';
import type { DockService, DockStatus } from '../../src/flows/dock/dock-service.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import type { HandheldDevice } from '../../src/flows/sim/handheld/device.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, freePort, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/** The dock API a CSR's console uses: status, live progress over SSE, commands, approvals. */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const LINE_BAUD = 460_800;

describe('dock API', () => {
  let gw: TestGateway;
  let service: DockService;
  let device: HandheldDevice;
  let server: Server;
  let base: string;
  let csr: string;
  let admin: string;

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'dock_api', accounts: 1010, routes: 1 });
    const port = `tcp://127.0.0.1:${await freePort()}`;
    const rig = dockService(gw.ctx, [port], {}, { paceBaud: LINE_BAUD });
    service = rig.service;
    // A hand-held on a 460,800-baud line (46,080 B/s): a transfer lasts long enough to watch.
    device = handheld(rig.ctx, { deviceId: 'HH-0042', port, paceBaud: LINE_BAUD });
    const welcomed = nextEvent(device, 'welcome');
    await device.start();
    await service.start();
    await welcomed;
    const app = createApi({
      ctx: rig.ctx,
      jobs: ALL_JOBS,
      runJobNow: (job) => runJob(rig.ctx, job, { trigger: 'manual' }),
      health: async () => ({ ok: true, checks: {} }),
      dock: service,
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
    admin = await createToken(gw.ctx.store.db, 'ivan', 'admin', gw.ctx.clock());
  }, 60_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await device?.stop();
    await service?.stop();
    await gw?.close();
  });

  const call = async (method: string, path: string, token: string, body?: object) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('shows each port with the docked device and its battery', async () => {
    const res = await call('GET', '/api/dock', csr);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      name: 'dock1',
      phase: 'docked',
      device: { id: 'HH-0042', battery: 87, model: 'SIM-1' },
    });
  });

  it("streams a load's progress as server-sent events: bytes, records, rate and time left", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/dock/events`, {
      headers: { authorization: `Bearer ${csr}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events: DockStatus[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(part, { stream: true });
          for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
            const data = buffer
              .slice(0, cut)
              .split('\n')
              .find((l) => l.startsWith('data: '));
            buffer = buffer.slice(cut + 2);
            if (data) events.push(JSON.parse(data.slice(6)) as DockStatus);
          }
        }
      } catch {
        // aborted at the end of the test
      }
    })();
    const [route] = await gw.ctx.billing.listRoutes();
    const assigned = await call('POST', '/api/dock/assign', csr, { route: route!.code, device: 'HH-0042' });
    expect(assigned.status).toBe(201);
    expect(assigned.body).toMatchObject({ command: 'load', status: 'pending', actor: 'csr:maria' });
    await waitFor(() => events.find((e) => e.last?.includes('loaded')), 'the load to finish', 60_000);
    controller.abort();
    await reading;
    const progress = events.map((e) => e.transfer).filter((t): t is NonNullable<DockStatus['transfer']> => t !== null);
    expect(progress.length).toBeGreaterThan(5);
    const mid = progress.find((t) => t.bytesDone > t.bytesTotal / 2 && t.bytesDone < t.bytesTotal)!;
    expect(mid).toMatchObject({ direction: 'load', route: route!.code });
    expect(mid.records).toBeGreaterThan(0);
    expect(mid.recordsTotal).toBeGreaterThanOrEqual(1000);
    // The rate shown is the line's (8N1: baud / 10 bytes a second), not a made-up figure.
    expect(mid.bytesPerSecond).toBeGreaterThan(0.5 * (LINE_BAUD / 10));
    expect(mid.bytesPerSecond).toBeLessThan(1.02 * (LINE_BAUD / 10));
    expect(mid.secondsLeft).toBeGreaterThan(0);
    const bytes = progress.map((t) => t.bytesDone);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  }, 60_000);

  it('needs a reason to re-load or clear, and names the field', async () => {
    const [route] = await gw.ctx.billing.listRoutes();
    const noReason = await call('POST', `/api/routes/${route!.code}/reload`, csr, { device: 'HH-0042' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'reason' });
    const blank = await call('POST', `/api/routes/${route!.code}/clear`, csr, { reason: '   ' });
    expect(blank.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'reason' });
    const cleared = await call('POST', `/api/routes/${route!.code}/clear`, csr, { reason: 'route re-cut' });
    expect(cleared.status).toBe(201);
    expect(cleared.body).toMatchObject({ command: 'clear', device_id: 'HH-0042', reason: 'route re-cut' });
  });

  it('lets only an admin approve a device', async () => {
    expect((await call('POST', '/api/devices/HH-0042/approve', csr)).status).toBe(403);
    expect((await call('POST', '/api/devices/HH-9999/approve', admin)).status).toBe(404);
    const ok = await call('POST', '/api/devices/HH-0042/approve', admin);
    expect(ok.body).toEqual({ device: 'HH-0042', approved: true });
    const list = await call('GET', '/api/devices', csr);
    expect(list.body.items).toEqual([expect.objectContaining({ device_id: 'HH-0042', approved: true, battery: 87 })]);
  });
});
