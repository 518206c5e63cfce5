import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/entry/api/openapi.js';
import { createToken, ROLES, type Role } from '../../src/infra/store/tokens-repo.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * Security of every API operation, walked from the same declared list that builds the routes
 * and /api/docs (so a new route cannot be missed): no credentials, the wrong role, a forged
 * session and an expired one are refused; injection and oversized bodies are refused with a 4xx
 * and change nothing. Plus console sessions: cookie flags, CSRF, login throttling, disabling.
 */
const INJECTIONS = [
  "' OR '1'='1",
  '1; DROP TABLE users; --',
  '"); DELETE FROM exceptions; --',
  '1 UNION SELECT password_hash FROM users',
];
// Tables a refused request must leave as they were (login_failures and sessions are the login's own business).
const WATCHED = [
  'exceptions',
  'readings',
  'routes',
  'route_lines',
  'work_orders',
  'work_order_events',
  'outbox',
  'users',
  'api_tokens',
  'cycle_reviews',
  'dock_commands',
  'audit_log',
  'devices',
];

describe.each(availableDialects())('API and console security on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  const tokens = {} as Record<Role, string>;
  let now = NOW;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'sec', accounts: 120, routes: 2, clock: () => now });
    await readRouteIntoStore(gw.ctx, 'R01');
    for (const role of ROLES) tokens[role] = await createToken(gw.ctx.store.db, `${role}-token`, role, NOW);
    await createUser(
      gw.ctx.store.db,
      { username: 'maria', role: 'csr', password: 'correct horse battery', displayName: 'Maria Lopez' },
      NOW,
    );
    await createUser(gw.ctx.store.db, { username: 'tom', role: 'tech', password: 'field work 2026' }, NOW);
    api = await startApi(gw.ctx);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  const snapshot = async () => {
    const out: Record<string, number> = {};
    for (const t of WATCHED) out[t] = Number(((await gw.ctx.store.db(t).count({ n: '*' }).first()) as { n: number }).n);
    out.openExceptions = Number(
      ((await gw.ctx.store.db('exceptions').where({ status: 'open' }).count({ n: '*' }).first()) as { n: number }).n,
    );
    return out;
  };
  const pathOf = (op: Operation, fill = 'X1', ids: { id?: string; cycle?: string } = {}) =>
    `/api${op.path.replace(/:(\w+)/g, (_m, name: string) => paramValue(name, fill, ids))}`;
  const paramValue = (name: string, fill: string, ids: { id?: string; cycle?: string }) =>
    ({ cycle: ids.cycle ?? '2026-11', id: ids.id ?? '1', kind: 'meters' })[name] ?? fill;
  const send = (op: Operation, path: string, headers: Record<string, string>, body?: string) =>
    fetch(api.base + path, {
      method: op.method.toUpperCase(),
      headers: { ...(body !== undefined ? { 'content-type': op.rawBody ?? 'application/json' } : {}), ...headers },
      body,
    });
  const login = async (username: string, password: string, ip?: string) => {
    const res = await fetch(`${api.base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) },
      body: JSON.stringify({ username, password }),
    });
    return {
      res,
      body: (await res.json()) as Record<string, any>,
      cookie: res.headers.get('set-cookie')?.split(';')[0] ?? '',
    };
  };
  const protectedOps = () => api.operations.filter((op) => !op.public);

  it('declares every route, and /api/docs describes each one with its roles and schemas', async () => {
    expect(api.operations.length).toBeGreaterThanOrEqual(40);
    const res = await fetch(`${api.base}/api/docs`, { headers: { authorization: `Bearer ${tokens.tech}` } });
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, any>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const op of api.operations) {
      const entry = doc.paths[`/api${op.path.replace(/:(\w+)/g, '{$1}')}`]?.[op.method];
      expect(entry, `${op.method} ${op.path}`).toBeDefined();
      expect(entry['x-roles']).toEqual(['admin', ...op.roles]);
    }
    // The constraints come from the zod schemas that validate the request.
    const list = doc.paths['/api/exceptions']!.get;
    expect(list.parameters.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 100,
    });
    const correct = doc.paths['/api/exceptions/{id}/correct']!.post.requestBody.content['application/json'].schema;
    expect(correct).toMatchObject({ type: 'object', required: ['reading', 'reason'], additionalProperties: false });
  });

  it(
    'refuses every operation without credentials, with the wrong role, and with a forged or expired ' + 'session',
    async () => {
      const before = await snapshot();
      const { cookie } = await login('maria', 'correct horse battery');
      const checked: string[] = [];
      for (const op of protectedOps()) {
        const path = pathOf(op);
        const label = `${op.method} ${op.path}`;
        const anonymous = await send(op, path, {});
        expect(anonymous.status, `${label} without credentials`).toBe(401);
        expect(((await anonymous.json()) as any).error.code).toBe('UNAUTHENTICATED');
        expect(
          (await send(op, path, { authorization: 'Bearer fg_forged_token' })).status,
          `${label} forged token`,
        ).toBe(401);
        expect(
          (await send(op, path, { cookie: 'fg_session=forged-session-id-that-was-never-issued' })).status,
          `${label} forged session`,
        ).toBe(401);
        const wrong = (['device', 'tech', 'csr'] as const).find((r) => !op.roles.includes(r));
        if (wrong) {
          const res = await send(
            op,
            path,
            { authorization: `Bearer ${tokens[wrong]}` },
            op.method === 'get' ? undefined : '{}',
          );
          expect(res.status, `${label} as ${wrong}`).toBe(403);
          expect(((await res.json()) as any).error.code).toBe('FORBIDDEN');
        }
        checked.push(label);
      }
      // The session is good until it expires; afterwards it opens nothing.
      expect((await fetch(`${api.base}/api/routes`, { headers: { cookie } })).status).toBe(200);
      now = new Date(NOW.getTime() + (gw.config.auth.sessionHours * 3600 + 1) * 1000);
      try {
        for (const op of protectedOps())
          expect((await send(op, pathOf(op), { cookie })).status, `${op.method} ${op.path} expired session`).toBe(401);
      } finally {
        now = NOW;
      }
      expect(checked.length).toBe(protectedOps().length);
      const after = await snapshot();
      // Only the login itself is in the audit log.
      expect(after).toEqual({ ...before, audit_log: before.audit_log! + 1 });
    },
    120_000,
  );

  it('refuses injection in every path parameter, query parameter and body field, and changes nothing', async () => {
    const before = await snapshot();
    const auth = { authorization: `Bearer ${tokens.admin}` };
    const results: string[] = [];
    for (const op of api.operations.filter((o) => !o.public && o.path !== '/dock/events')) {
      for (const bad of INJECTIONS) {
        const esc = encodeURIComponent(bad);
        if (op.params) {
          const res = await send(
            op,
            pathOf(op, esc, { id: esc, cycle: esc }),
            auth,
            op.method === 'get' ? undefined : '{}',
          );
          expect(res.status, `${op.method} ${op.path} path ${bad}`).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        }
        const queryKeys =
          op.method === 'get' && op.query
            ? Object.keys((op.query as unknown as { shape?: Record<string, unknown> }).shape ?? {})
            : [];
        for (const key of queryKeys) {
          const res = await send(op, `${pathOf(op)}?${key}=${esc}`, auth);
          expect(res.status, `${op.method} ${op.path} ?${key}`).toBeLessThan(500);
          // A free-text filter may answer 200, but the injection must not widen it: nothing matches.
          if (res.ok && (res.headers.get('content-type') ?? '').includes('json')) {
            const body = (await res.json()) as { items?: unknown[]; rows?: unknown[] };
            expect(body.items ?? body.rows ?? [], `${op.method} ${op.path} ?${key}=${bad}`).toEqual([]);
          } else await res.arrayBuffer();
        }
        if (op.body) {
          const shape = (op.body as unknown as { shape?: Record<string, unknown> }).shape ?? {
            ids: 1,
            action: 1,
            reason: 1,
          };
          const body = Object.fromEntries(Object.keys(shape).map((k) => [k, bad]));
          // On a record that does not exist: a body that validates (a free-text note) must still change nothing.
          const res = await send(op, pathOf(op, 'X1', { id: '999999', cycle: '1999-01' }), auth, JSON.stringify(body));
          expect(res.status, `${op.method} ${op.path} body ${bad}`).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        }
      }
      results.push(`${op.method} ${op.path}`);
    }
    expect(await snapshot()).toEqual(before);
    // The injection in the login's username is only a failed login.
    expect((await login(INJECTIONS[0]!, INJECTIONS[1]!, '203.0.113.9')).res.status).toBe(401);
    expect(results.length).toBeGreaterThan(30);
    // Free text is data: a note that looks like SQL is kept exactly as typed, and runs nothing.
    const note = "O'Brien's gate; DROP TABLE work_orders; --";
    const created = await fetch(`${api.base}/api/work-orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'Investigation', notes: note }),
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { orderNo: string };
    expect((await gw.ctx.store.db('work_orders').where({ order_no: order.orderNo }).first())!.notes).toBe(note);
    expect(Number(((await gw.ctx.store.db('work_orders').count({ n: '*' }).first()) as { n: number }).n)).toBe(
      before.work_orders! + 1,
    );
  }, 180_000);

  it('refuses oversized bodies with 413 on every operation that takes one, and changes nothing', async () => {
    const before = await snapshot();
    const auth = { authorization: `Bearer ${tokens.admin}` };
    for (const op of api.operations.filter((o) => o.method !== 'get' && o.method !== 'delete')) {
      const size = op.rawBody ? 50 * 1024 * 1024 + 1024 : op.path === '/session' ? 8 * 1024 : 1024 * 1024 + 1024;
      const body = op.rawBody ? 'x'.repeat(size) : JSON.stringify({ note: 'x'.repeat(size) });
      const res = await send(op, pathOf(op), auth, body);
      expect(res.status, `${op.method} ${op.path}`).toBe(413);
      expect(((await res.json()) as any).error.code).toBe('ENTITY_TOO_LARGE');
    }
    expect(await snapshot()).toEqual(before);
  }, 120_000);

  it('sets an httpOnly, SameSite=Strict cookie, and needs the CSRF token for changes made with it', async () => {
    const { res, body, cookie } = await login('maria', 'correct horse battery');
    expect(res.status).toBe(201);
    expect(res.headers.get('set-cookie')).toMatch(
      /^fg_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=36000$/,
    );
    expect(body).toMatchObject({
      user: { username: 'maria', role: 'csr', displayName: 'Maria Lopez' },
      csrfToken: expect.stringMatching(/^[\w-]{30,}$/),
    });
    const me = await fetch(`${api.base}/api/session`, { headers: { cookie } });
    expect(await me.json()).toMatchObject({
      user: { username: 'maria' },
      via: 'session',
      csrfToken: body.csrfToken,
      timeZone: 'America/Chicago',
    });
    const ex = (await gw.ctx.store.db('exceptions').where({ status: 'open' }).whereNotNull('read_key').first()) as {
      id: number;
    };
    const accept = (headers: Record<string, string>) =>
      fetch(`${api.base}/api/exceptions/${ex.id}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: '{}',
      });
    const noCsrf = await accept({});
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as any).error.code).toBe('CSRF');
    expect((await accept({ 'x-csrf-token': 'guessed' })).status).toBe(403);
    expect((await gw.ctx.store.db('exceptions').where({ id: ex.id }).first())!.status).toBe('open');
    const ok = await accept({ 'x-csrf-token': body.csrfToken });
    expect(ok.status).toBe(200);
    const audit = await gw.ctx.store.db('audit_log').where({ target: `exception:${ex.id}` });
    expect(audit).toEqual([expect.objectContaining({ actor: 'csr:maria', action: 'exception.accept' })]);
    // Helmet's headers are on every answer.
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'self'");
    // Logging out ends the session on the server, not just in the browser.
    await fetch(`${api.base}/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': body.csrfToken } });
    expect((await fetch(`${api.base}/api/routes`, { headers: { cookie } })).status).toBe(401);
  });

  it(
    'throttles failed logins per username: the sixth try is 429 even with the right password, until the window ' +
      'passes',
    async () => {
      for (let i = 0; i < 5; i++) expect((await login('tom', `wrong password ${i}`)).res.status).toBe(401);
      const limited = await login('tom', 'field work 2026');
      expect(limited.res.status).toBe(429);
      expect(limited.body.error).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', field: 'username' });
      expect(Number(limited.res.headers.get('retry-after'))).toBe(15 * 60);
      now = new Date(NOW.getTime() + 15 * 60_000 + 1000);
      try {
        const ok = await login('tom', 'field work 2026');
        expect(ok.res.status).toBe(201);
        // A technician may log in, but the console's pages are not for them.
        const page = await fetch(`${api.base}/console/exceptions.html`, {
          headers: { cookie: ok.cookie },
          redirect: 'manual',
        });
        expect(page.status).toBe(403);
        expect(await page.text()).toContain('This page is for customer service');
        expect((await fetch(`${api.base}/api/exceptions`, { headers: { cookie: ok.cookie } })).status).toBe(403);
      } finally {
        now = NOW;
      }
      // An unknown user is refused the same way as a wrong password.
      const unknown = await login('nobody', 'whatever it is');
      expect(unknown.body.error).toEqual({
        code: 'BAD_CREDENTIALS',
        message: 'wrong username or password',
        field: 'password',
      });
    },
  );

  it('sends a visitor with no session to the login page, and back where they were going', async () => {
    const page = await fetch(`${api.base}/console/prebill.html?cycle=2026-11`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('login.html?next=prebill.html%3Fcycle%3D2026-11');
    expect((await fetch(`${api.base}/console/login.html`)).status).toBe(200);
  });
});
