import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/** Prometheus /metrics for IT: admin only, HTTP latency by route pattern, and what the store knows. */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('metrics and readiness', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let admin: string;
  let csr: string;
  const get = (path: string, token?: string) =>
    fetch(`${api.base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'metrics', accounts: 60, routes: 1 });
    api = await startApi(gw.ctx);
    admin = await createToken(gw.ctx.store.db, 'it', 'admin', gw.ctx.clock());
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
    await gw.ctx.store.db('exceptions').insert([
      {
        source: 'file',
        kind: 'HIGH_READ',
        severity: 'hold',
        message: 'x',
        status: 'open',
        created_at: NOW.toISOString(),
      },
      {
        source: 'file',
        kind: 'HIGH_READ',
        severity: 'hold',
        message: 'y',
        status: 'open',
        created_at: NOW.toISOString(),
      },
      {
        source: 'ami-cmep',
        kind: 'SPIKE',
        severity: 'warn',
        message: 'z',
        status: 'resolved',
        created_at: NOW.toISOString(),
      },
    ]);
    await gw.ctx.store.db('job_runs').insert([
      {
        job: 'post-readings',
        trigger: 'schedule',
        holder: 'gw1',
        status: 'ok',
        started_at: '2026-11-23T15:00:00.000Z',
        finished_at: '2026-11-23T15:00:02.500Z',
        counts: '{}',
      },
      {
        job: 'post-readings',
        trigger: 'schedule',
        holder: 'gw1',
        status: 'failed',
        started_at: '2026-11-23T15:15:00.000Z',
        finished_at: '2026-11-23T15:15:07.000Z',
        counts: '{}',
        error: 'billing down',
      },
      {
        job: 'past-due',
        trigger: 'schedule',
        holder: 'gw1',
        status: 'running',
        started_at: '2026-11-23T15:20:00.000Z',
        finished_at: null,
        counts: null,
      },
    ]);
  });
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  it('serves Prometheus text to an admin only', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', csr)).status).toBe(403);
    await get('/api/work-orders/NOPE', csr);
    await get('/api/work-orders/ALSO-NOPE', csr);
    const res = await get('/metrics', admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    // Two different orders, one series: the route's pattern.
    expect(text).toMatch(
      new RegExp(
        /fieldgate_http_request_duration_seconds_count\{method="GET",/.source +
          /route="\/api\/work-orders\/:orderNo",status="404"\} 2/.source,
      ),
    );
    expect(text).toMatch(/fieldgate_exceptions_open\{kind="HIGH_READ"\} 2/);
    expect(text).not.toMatch(/fieldgate_exceptions_open\{kind="SPIKE"\}/);
    expect(text).toMatch(/# TYPE fieldgate_dock_frames_resent gauge/);
    // The last finished run of each job, how it ended and how long it took; failures counted by status.
    expect(text).toMatch(/fieldgate_job_last_duration_seconds\{job="post-readings",status="failed"\} 7\n/);
    expect(text).not.toMatch(/fieldgate_job_last_duration_seconds\{job="past-due"/);
    expect(text).toMatch(/fieldgate_job_runs\{job="post-readings",status="failed"\} 1\n/);
    expect(text).toMatch(/fieldgate_dock_transfers\{direction="unload"\} 0\n/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
  });

  it('says ready when the databases answer', async () => {
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready' });
  });
});
