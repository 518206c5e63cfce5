import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsage, type DemoUsagePlan } from '../../src/flows/ami/demo-usage.js';
import { importAmiFile } from '../../src/flows/ami/import-ami.js';
import { createInvite, registerCustomer } from '../../src/flows/portal/invites.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Green Button Connect My Data end to end with a test third party, on each store: an admin
 * registers it; the customer grants one account from the portal; the third party exchanges the
 * code for tokens, fetches the Subscription batch (valid ESPI: it imports back into another
 * fieldgate to the same intervals), refreshes, and is refused once the customer revokes (401).
 * A wrong redirect URI, a scope it is not registered for, another subscription, a wrong secret,
 * a code used twice and an expired token are refused.
 */
const SCOPE = 'FB=1_3_4_5_13_14_39;IntervalDuration=3600;BlockDuration=daily;HistoryLength=34128000';
const CALLBACK = 'http://127.0.0.1:9/callback';

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('Connect My Data on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let plan: DemoUsagePlan[];
  let accountNo: string;
  let client: { clientId: string; clientSecret: string };
  let customer: { cookie: string; csrf: string };
  let tokens: Record<string, any> = {};

  const form = (fields: Record<string, string>) =>
    fetch(`${api.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const asCustomer = (p: string, init: RequestInit = {}) =>
    fetch(`${api.base}${p}`, {
      ...init,
      headers: {
        cookie: customer.cookie,
        'x-csrf-token': customer.csrf,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
  const ask = (over: Record<string, string> = {}) => ({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: CALLBACK,
    scope: SCOPE,
    state: 'st-123',
    ...over,
  });
  const grant = async (over: Record<string, string> = {}, allowed = true) => {
    const res = await asCustomer('/api/portal/oauth/authorize', {
      method: 'POST',
      body: JSON.stringify({ ...ask(over), accountNo, allowed }),
    });
    return { res, body: (await res.json()) as any };
  };
  const bearer = (p: string, token: string) =>
    fetch(`${api.base}${p}`, { headers: { authorization: `Bearer ${token}` } });
  const window = '?published-min=2026-11-20T06:00:00Z&published-max=2026-11-22T06:00:00Z';

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'cmd', accounts: 200, routes: 2 });
    plan = (await seedDemoUsage({ ...gw.ctx, db: gw.ctx.store.db }, { meters: 8, days: 20, seed: 5 })).plan;
    accountNo = plan.find((p) => p.unit === 'GAL')!.accountNo!;
    const invite = await createInvite(gw.ctx, accountNo, 'test');
    await registerCustomer(
      gw.ctx,
      { accountNo, code: invite.code, username: 'gb-customer', password: 'correct horse battery' },
      '127.0.0.1',
    );
    api = await startApi(gw.ctx);
    const admin = await createToken(gw.ctx.store.db, 'admin', 'admin', NOW);
    const created = await fetch(`${api.base}/api/oauth/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Energy Helper', redirectUris: [CALLBACK], scopes: [SCOPE] }),
    });
    expect(created.status).toBe(201);
    client = (await created.json()) as typeof client;
    const login = await fetch(`${api.base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'gb-customer', password: 'correct horse battery' }),
    });
    customer = {
      cookie: login.headers.get('set-cookie')!.split(';')[0]!,
      csrf: ((await login.json()) as { csrfToken: string }).csrfToken,
    };
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  it('sends the customer from /oauth/authorize to the portal, which names the third party', async () => {
    const q = new URLSearchParams(ask()).toString();
    const start = await fetch(`${api.base}/oauth/authorize?${q}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toBe(`/portal/authorize.html?${q}`);
    const described = await (await asCustomer(`/api/portal/oauth/request?${q}`)).json();
    expect(described).toEqual({ clientId: client.clientId, name: 'Energy Helper', scope: [SCOPE], outside: [] });
  });

  it('grants, exchanges the code for tokens kept only as hashes, and refuses the code a second time', async () => {
    const { res, body } = await grant();
    expect(res.status).toBe(200);
    const back = new URL(body.redirect);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get('state')).toBe('st-123');
    const code = back.searchParams.get('code')!;
    const exchange = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    };
    const token = await form(exchange);
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    tokens = (await token.json()) as Record<string, any>;
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: expect.any(Number),
      scope: SCOPE,
      resourceURI: expect.stringMatching(/^\/espi\/1_1\/resource\/Batch\/Subscription\/\d+$/),
    });
    expect(tokens.expires_in).toBeGreaterThanOrEqual(3590);
    expect(tokens.expires_in).toBeLessThanOrEqual(3600);
    const again = await form(exchange);
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error).toBe('invalid_grant');
    const stored = JSON.stringify(await gw.ctx.store.db('oauth_tokens').select());
    expect(stored).not.toContain(tokens.access_token);
    expect(stored).not.toContain(tokens.refresh_token);
    expect(JSON.stringify(await gw.ctx.store.db('oauth_clients').select())).not.toContain(client.clientSecret);
  });

  it('serves the Subscription batch as ESPI that imports back into another fieldgate to the same intervals', async () => {
    const res = await bearer(`${tokens.resourceURI}${window}`, tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/atom\+xml/);
    const xml = await res.text();
    const subscription = tokens.resourceURI.split('/').pop();
    expect(xml).toContain(`/espi/1_1/resource/Subscription/${subscription}/UsagePoint/`);
    const meters = (await gw.ctx.billing.account(accountNo))!.meters.map((m) => m.meterId);
    const rowsOf = async (g: TestGateway) =>
      (
        await g.ctx.store
          .db('ami_intervals')
          .select('meter_id', 'start_at', 'seconds', 'value', 'quality')
          .whereIn('meter_id', meters)
          .andWhere('start_at', '>=', Date.parse('2026-11-20T06:00:00Z') / 1000)
          .andWhere('start_at', '<', Date.parse('2026-11-22T06:00:00Z') / 1000)
          .orderBy(['meter_id', 'start_at'])
      ).map((r) => ({ ...r, start_at: Number(r.start_at), value: Number(r.value) }));
    const before = await rowsOf(gw);
    expect(before.length).toBe(48);
    const other = await testGateway(dialect, { label: 'cmdrt', accounts: 200, routes: 2 });
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-cmd-'));
    try {
      writeFileSync(path.join(dir, 'batch.xml'), xml);
      const r = await importAmiFile({ ...other.ctx, db: other.ctx.store.db }, path.join(dir, 'batch.xml'));
      expect(r).toMatchObject({ received: 48, unknownMeters: 0 });
      expect(await rowsOf(other)).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await other.close();
    }
    // The UsagePoint and IntervalBlock resources of the same subscription.
    const base = `/espi/1_1/resource/Subscription/${subscription}/UsagePoint`;
    const points = await (await bearer(base, tokens.access_token)).text();
    expect(points.match(/<espi:UsagePoint>/g)?.length).toBeGreaterThan(0);
    expect(points).not.toContain('IntervalBlock');
    const up = /UsagePoint\/([^"/]+)"/.exec(points)![1]!;
    const blocks = await (
      await bearer(`${base}/${up}/MeterReading/1/IntervalBlock${window}`, tokens.access_token)
    ).text();
    expect(blocks.match(/<espi:IntervalReading>/g)).toHaveLength(48);
    expect(blocks).not.toContain('<espi:UsagePoint>');
  });

  it('refreshes the token, and the old refresh token no longer works', async () => {
    const refresh = {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    };
    const res = await form(refresh);
    expect(res.status).toBe(200);
    const fresh = (await res.json()) as any;
    expect(fresh.access_token).not.toBe(tokens.access_token);
    expect(fresh.resourceURI).toBe(tokens.resourceURI);
    expect((await bearer(`${fresh.resourceURI}${window}`, fresh.access_token)).status).toBe(200);
    expect((await form(refresh)).status).toBe(400);
    tokens = fresh;
    // The grant itself, as ESPI's Authorization resource.
    const auth = await (await bearer(fresh.authorizationURI, fresh.access_token)).text();
    expect(auth).toContain('<espi:status>1</espi:status>');
    expect(auth).toContain(`<espi:scope>${SCOPE}</espi:scope>`);
    expect(auth).toContain(`<espi:resourceURI>${fresh.resourceURI}</espi:resourceURI>`);
  });

  it('refuses a wrong redirect URI, a scope not registered, another subscription, a wrong secret and an expired token', async () => {
    const evil = new URLSearchParams(ask({ redirect_uri: 'https://evil.example/cb' })).toString();
    const described = await asCustomer(`/api/portal/oauth/request?${evil}`);
    expect(described.status).toBe(400);
    expect(((await described.json()) as any).error.field).toBe('redirect_uri');
    const sent = await grant({ redirect_uri: 'https://evil.example/cb' });
    expect(sent.res.status).toBe(400);
    expect(JSON.stringify(sent.body)).not.toContain('evil.example/cb?');
    // A scope the third party is not registered for goes back to it as invalid_scope, with no code.
    const wide = await grant({ scope: 'FB=1_3_4_5_13_14_15_39;IntervalDuration=900' });
    const back = new URL(wide.body.redirect);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    expect(back.searchParams.get('code')).toBeNull();
    // Denied by the customer.
    expect(new URL((await grant({}, false)).body.redirect).searchParams.get('error')).toBe('access_denied');
    const subscription = Number(tokens.resourceURI.split('/').pop());
    const otherSub = await bearer(`/espi/1_1/resource/Batch/Subscription/${subscription + 1}`, tokens.access_token);
    expect(otherSub.status).toBe(403);
    expect(((await otherSub.json()) as any).error).toBe('insufficient_scope');
    const wrongSecret = await form({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: client.clientId,
      client_secret: 'not-the-secret',
    });
    // RFC 6749 §5.2: invalid_client, 401 when the client authenticated with the Authorization header.
    expect(wrongSecret.status).toBe(400);
    expect(((await wrongSecret.json()) as any).error).toBe('invalid_client');
    const basic = await fetch(`${api.base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:wrong`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
    });
    expect(basic.status).toBe(401);
    expect((await bearer(tokens.resourceURI, 'not-a-token')).status).toBe(401);
    // A token past its expiry opens nothing, though not revoked.
    const db = gw.ctx.store.db;
    const live = (await db('oauth_tokens').whereNull('revoked_at').orderBy('id', 'desc').first())!;
    await db('oauth_tokens').where({ id: live.id }).update({ access_expires_at: '2020-01-01T00:00:00.000Z' });
    const expired = await bearer(`${tokens.resourceURI}${window}`, tokens.access_token);
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as any).error).toBe('invalid_token');
    await db('oauth_tokens').where({ id: live.id }).update({ access_expires_at: live.access_expires_at });
  });

  it('stops every token of a grant the customer revokes in the portal: 401 from then on', async () => {
    const list = (await (await asCustomer('/api/portal/connections')).json()) as any;
    const live = list.items.filter((c: any) => !c.revokedAt);
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ name: 'Energy Helper', accountNo, scope: SCOPE });
    expect((await bearer(`${tokens.resourceURI}${window}`, tokens.access_token)).status).toBe(200);
    const revoked = await asCustomer(`/api/portal/connections/${live[0].id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    const after = await bearer(`${tokens.resourceURI}${window}`, tokens.access_token);
    expect(after.status).toBe(401);
    expect(
      (
        await form({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
          client_id: client.clientId,
          client_secret: client.clientSecret,
        })
      ).status,
    ).toBe(400);
  });
});
