import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginLogin, TooManyAttemptsError } from '../../src/infra/store/login-throttle.js';
import { createToken, revokeToken } from '../../src/infra/store/tokens-repo.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { createWorkOrder, moveWorkOrder } from '../../src/flows/work-orders/work-orders.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * Regression tests of the security probe's HTTP findings (issue 16), on every store dialect,
 * each reproducing the finding as it was reported.
 */
describe.each(availableDialects())('HTTP security probe findings on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let csr: string;
  let admin: string;

  beforeAll(async () => {
    // Behind a proxy on loopback, as docs/security.md sets it up: X-Forwarded-For names the client.
    gw = await testGateway(dialect, {
      label: 'sec_find',
      accounts: 60,
      routes: 1,
      config: { server: { trustProxy: 'loopback' } },
    });
    await readRouteIntoStore(gw.ctx, 'R01');
    csr = await createToken(gw.ctx.store.db, 'csr-token', 'csr', NOW);
    admin = await createToken(gw.ctx.store.db, 'admin-token', 'admin', NOW);
    await createUser(gw.ctx.store.db, { username: 'demo-admin', role: 'admin', password: 'the admin password' }, NOW);
    api = await startApi(gw.ctx);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  const login = (username: string, password: string, ip: string) =>
    fetch(`${api.base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ username, password }),
    });

  it('finding 6: an import is audited as its name, size and hash, never its bytes', async () => {
    const body = Buffer.alloc(2 << 20, 'Z');
    const res = await fetch(`${api.base}/api/readings/import?name=big.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${csr}`, 'content-type': 'text/plain' },
      body,
    });
    expect(res.status).toBeLessThan(500);
    const row = (await gw.ctx.store
      .db('audit_log')
      .where({ action: 'POST /readings/import' })
      .orderBy('id', 'desc')
      .first()) as { detail: string };
    expect(row.detail.length).toBeLessThan(500);
    expect(JSON.parse(row.detail)).toMatchObject({
      query: { name: 'big.txt' },
      body: { bytes: 2 << 20, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it('finding 7: forty parallel wrong passwords get at most the limit of checks', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login('demo-admin', `wrong ${i}`, '10.9.9.9').then((r) => r.status)),
    );
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeLessThanOrEqual(gw.config.auth.login.maxFailures);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });

  it('finding 7: one address cannot lock demo-admin out for everyone; many addresses can', async () => {
    for (let i = 0; i < 5; i++) await login('demo-admin', 'wrong again', '10.1.1.1');
    expect((await login('demo-admin', 'the admin password', '10.1.1.1')).status).toBe(429);
    expect((await login('demo-admin', 'the admin password', '10.2.2.2')).status).toBe(201);
    // Beyond maxFailuresPerUsername from all addresses together, the name itself waits.
    const db = gw.ctx.store.db;
    const settings = { ...gw.config.auth.login, maxFailuresPerUsername: 8 };
    for (let i = 0; i < 8; i++) await beginLogin(db, { username: 'spread', ip: `10.3.3.${i}` }, settings, NOW);
    await expect(beginLogin(db, { username: 'spread', ip: '10.4.4.4' }, settings, NOW)).rejects.toBeInstanceOf(
      TooManyAttemptsError,
    );
  });

  it("finding 8: a technician learns nothing of another technician's order, whatever version they send", async () => {
    const db = gw.ctx.store.db;
    const { order } = await createWorkOrder(
      db,
      gw.config,
      { source: 'csr', type: 'Investigation', notes: 'private address' },
      { role: 'csr', name: 'maria' },
      NOW,
    );
    await moveWorkOrder(
      db,
      gw.config,
      order.orderNo,
      { to: 'dispatched', version: order.version, technician: 'ann' },
      { role: 'csr', name: 'maria' },
      NOW,
    );
    const tom = await createToken(db, 'tom', 'tech', NOW);
    const answers = [];
    for (const version of [1, 2, 99]) {
      const res = await fetch(`${api.base}/api/tech/orders/${order.orderNo}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tom}`, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'accepted', version }),
      });
      answers.push({ status: res.status, body: await res.text() });
    }
    const missing = await fetch(`${api.base}/api/tech/orders/WO000000ZZZZ`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tom}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'accepted', version: 1 }),
    });
    const nobody = { status: missing.status, body: (await missing.text()).replace('WO000000ZZZZ', order.orderNo) };
    // The same answer as for an order that does not exist: nothing of the order, not even that it is there.
    for (const a of answers) expect(a).toEqual(nobody);
    expect(nobody.status).toBe(404);
    expect(answers.map((a) => a.body).join('')).not.toContain('private address');
  });

  it('finding 10: a revoked token is refused from the next request', async () => {
    const t = await createToken(gw.ctx.store.db, 'script', 'csr', NOW);
    expect((await fetch(`${api.base}/api/routes`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    expect(await revokeToken(gw.ctx.store.db, 'script', NOW)).toBe(true);
    expect((await fetch(`${api.base}/api/routes`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(401);
  });

  it(
    'finding 11: an encoded console path, a malformed cookie and an impossible date are each a plain ' + '4xx',
    async () => {
      const page = await fetch(`${api.base}/console/routes%2ehtml`, { redirect: 'manual' });
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toMatch(/^login\.html/);
      expect((await fetch(`${api.base}/console/%E0%A4%A.html`, { redirect: 'manual' })).status).toBe(400);
      const cookie = await fetch(`${api.base}/api/routes`, { headers: { cookie: 'fg_session=%E0%A4%A' } });
      expect(cookie.status).toBe(401);
      const report = await fetch(`${api.base}/api/reports/exceptions?to=2026-13-45`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(report.status).toBe(400);
      expect(await report.json()).toMatchObject({ error: { code: 'INVALID_INPUT', field: 'to' } });
    },
  );
});
