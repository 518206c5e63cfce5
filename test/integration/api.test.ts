import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from '../../src/entry/api/app.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { DockService } from '../../src/flows/dock/dock-service.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { simulateReads } from '../helpers/read-file.js';

describe.each(availableDialects())('HTTP API on $name', (dialect) => {
  let gw: TestGateway;
  let server: Server;
  let base: string;
  let csr: string;
  let tech: string;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'api', accounts: 120, routes: 2 });
    const app = createApi({
      ctx: gw.ctx,
      jobs: ALL_JOBS,
      runJobNow: (job) => runJob(gw.ctx, job, { trigger: 'manual' }),
      health: async () => ({ ok: true, checks: { store: 'ok', billing: 'ok' } }),
      dock: new DockService(gw.ctx),
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
    tech = await createToken(gw.ctx.store.db, 'tom', 'tech', gw.ctx.clock());
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await gw?.close();
  });

  const call = async (
    method: string,
    path: string,
    token: string | null,
    body?: string | object,
    type = 'application/json',
  ) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = type;
    const res = await fetch(base + path, {
      method,
      headers,
      body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('refuses no token, an unknown token and the wrong role', async () => {
    expect((await call('GET', '/api/routes', null)).status).toBe(401);
    expect((await call('GET', '/api/routes', 'fg_forged')).body).toEqual({
      error: { code: 'UNAUTHENTICATED', message: 'unknown or revoked token', field: null },
    });
    const forbidden = await call('GET', '/api/routes', tech);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.message).toBe('this action needs one of the roles: admin, csr');
  });

  it('shows every billing route with its state here, ready until it is loaded', async () => {
    const routes = await call('GET', '/api/routes', csr);
    expect(routes.body.items.map((r: { route: string; state: string }) => [r.route, r.state])).toEqual([
      ['R01', 'ready'],
      ['R02', 'ready'],
    ]);
  });

  it('exports a route, takes its readings file, and says so when the same file comes again', async () => {
    const exported = await call('POST', '/api/routes/R01/export', csr, { deviceId: 'HH-0042' });
    expect(exported.status).toBe(201);
    expect(exported.body.route).toMatchObject({ route_code: 'R01', state: 'loaded', device_id: 'HH-0042' });
    const refused = await call('POST', '/api/routes/R01/export', csr, { deviceId: 'HH-0043' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'ROUTE_ALREADY_LOADED', field: 'state' });
    expect(refused.body.error.message).toMatch(/is loaded on HH-0042/);

    const routeFile = (await gw.ctx.store.db('routes').where({ route_code: 'R01' }).first()) as { records: number };
    const { exportRoute } = await import('../../src/flows/routes/export-route.js');
    const again = await exportRoute(gw.ctx, {
      routeCode: 'R01',
      actor: 'test',
      deviceId: 'HH-0042',
      reload: true,
      reason: 'api test needs the file',
    });
    const day = simulateReads(gw.ctx, again.content.toString('latin1'), new Date('2026-11-23T13:00:00Z'));
    const file = day.lines.map((l) => `${l}\r\n`).join('');
    const imported = await call('POST', '/api/readings/import?name=R01.txt', csr, file, 'text/plain');
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({
      lines: routeFile.records,
      route: { code: 'R01', state: 'committed' },
      duplicateOf: null,
    });
    const dup = await call('POST', '/api/readings/import?name=R01-again.txt', csr, file, 'text/plain');
    expect(dup.status).toBe(200);
    expect(dup.body.duplicateOf).toBe(imported.body.batchId);
    const r01 = (await call('GET', '/api/routes', csr)).body.items[0];
    expect(r01).toMatchObject({ route: 'R01', state: 'committed', device: 'HH-0042', records: routeFile.records });
    expect(r01.read + r01.held + r01.skipped).toBe(routeFile.records);
  });

  it('lists readings and exceptions with filters and pages', async () => {
    const held = await call('GET', '/api/readings?route=R01&status=skipped&limit=2', csr);
    expect(held.body.items.length).toBeLessThanOrEqual(2);
    expect(held.body.items.every((r: { status: string }) => r.status === 'skipped')).toBe(true);
    const skips = await call('GET', '/api/exceptions?kind=SKIPPED&limit=1&offset=1', csr);
    expect(skips.body).toMatchObject({ limit: 1, offset: 1 });
    expect(skips.body.items[0]).toMatchObject({ kind: 'SKIPPED', route_code: 'R01', field: 'skip_code' });
  });

  it('answers bad input with 4xx naming the field, and an unknown route with 404', async () => {
    expect((await call('GET', '/api/exceptions?limit=0', csr)).body.error).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'limit',
    });
    const unknownKey = await call('POST', '/api/routes/R02/export', csr, { device: 'x' });
    expect(unknownKey.status).toBe(400);
    const broken = await call('POST', '/api/routes/R02/export', csr, '{"deviceId":', 'application/json');
    expect(broken.status).toBe(400);
    const missing = await call('POST', '/api/routes/R99/export', csr, {});
    expect(missing).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: "route 'R99' not found" } },
    });
  });

  it('runs a job on request and shows it in the history', async () => {
    const run = await call('POST', '/api/jobs/post-readings/run', csr);
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ status: 'ok', counts: { posted: expect.any(Number) } });
    expect(run.body.counts.posted).toBeGreaterThan(50);
    const jobs = await call('GET', '/api/jobs', csr);
    expect(jobs.body.items[0]).toMatchObject({ name: 'post-readings', lastRun: { status: 'ok', trigger: 'manual' } });
    expect((await call('POST', '/api/jobs/nope/run', csr)).status).toBe(404);
  });
});
