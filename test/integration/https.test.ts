import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from '../../src/entry/api/app.js';
import { listen, type GatewayServer } from '../../src/entry/http-server.js';
import { DockService } from '../../src/flows/dock/dock-service.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * HTTPS without a proxy (`server.tls`), as phones need for the field app: the gateway serves the
 * app and the API over TLS with the configured certificate, and session cookies come with Secure.
 * A certificate file that cannot be read is a configuration error naming the setting.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('the gateway over HTTPS', () => {
  let gw: TestGateway;
  let server: GatewayServer;
  let url: string;
  let ca: Buffer;
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-tls-'));
  const cert = path.join(dir, 'gateway.crt');
  const key = path.join(dir, 'gateway.key');

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(cert);
    gw = await testGateway(sqlite, { label: 'https', accounts: 20, routes: 1 });
    await createUser(gw.ctx.store.db, { username: 'rita', role: 'reader', password: 'meters all day' }, gw.ctx.clock());
    const app = createApi({
      ctx: gw.ctx,
      jobs: ALL_JOBS,
      runJobNow: (job) => runJob(gw.ctx, job, { trigger: 'manual' }),
      health: async () => ({ ok: true, checks: {} }),
      dock: new DockService(gw.ctx),
    });
    ({ server, url } = await listen(app, { ...gw.ctx.config.server, host: '127.0.0.1', port: 0, tls: { cert, key } }));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gw?.close();
  });

  const fetchTls = (p: string, init: { method?: string; body?: string } = {}) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
      (resolve, reject) => {
        const req = request(
          `${url}${p}`,
          { method: init.method ?? 'GET', ca, headers: { 'content-type': 'application/json' } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
          },
        );
        req.on('error', reject);
        req.end(init.body);
      },
    );

  it('serves the field app and the API over TLS, and marks session cookies Secure', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const app = await fetchTls('/field/');
    expect(app.status).toBe(200);
    expect(app.body).toContain('<title>fieldgate field</title>');
    const login = await fetchTls('/api/session', {
      method: 'POST',
      body: JSON.stringify({ username: 'rita', password: 'meters all day' }),
    });
    expect(login.status).toBe(201);
    expect(String(login.headers['set-cookie'])).toMatch(/; Secure/);
  });

  it('names the setting when a certificate file cannot be read', async () => {
    await expect(
      listen((await import('express')).default(), {
        ...gw.ctx.config.server,
        port: 0,
        tls: { cert: path.join(dir, 'missing.crt'), key },
      }),
    ).rejects.toThrow(/server\.tls\.cert: cannot read .*missing\.crt/);
  });
});
