import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsage, type DemoUsagePlan } from '../../src/flows/ami/demo-usage.js';
import { checkUsageAlerts } from '../../src/flows/ami/usage-alerts.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The customer side through HTTP on each store: a CSR finds a customer by account, name,
 * address or meter and reads the account page; makes a portal invitation; the customer
 * registers with it once, sees only their own account (any other number is the same 404 as one
 * that does not exist), downloads their data, and keeps alert preferences behind CSRF.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('customer portal API on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let csr: string;
  let plan: DemoUsagePlan[];
  let leaky: { accountNo: string; meterId: string };
  let now = NOW;

  const call = (path: string, init: RequestInit & { auth?: string; cookie?: string; csrf?: string } = {}) =>
    fetch(`${api.base}${path}`, {
      ...init,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.auth ? { authorization: `Bearer ${init.auth}` } : {}),
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}),
      },
    });
  const json = async (res: Response) => (await res.json()) as any;
  const invite = async (accountNo: string) =>
    json(await call(`/api/accounts/${accountNo}/portal-invite`, { method: 'POST', body: '{}', auth: csr }));
  const register = (body: Record<string, unknown>) =>
    call('/api/portal/register', { method: 'POST', body: JSON.stringify(body) });
  const login = async (username: string, password: string) => {
    const res = await call('/api/session', { method: 'POST', body: JSON.stringify({ username, password }) });
    const body = await json(res);
    return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: body.csrfToken as string, body };
  };

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'portal', accounts: 200, routes: 2, clock: () => now });
    plan = (await seedDemoUsage({ ...gw.ctx, db: gw.ctx.store.db }, { meters: 12, days: 40, seed: 3 })).plan;
    await checkUsageAlerts(gw.ctx, { now: NOW });
    const leak = plan.find((p) => p.story === 'leak')!;
    leaky = { accountNo: leak.accountNo!, meterId: leak.meterId };
    api = await startApi(gw.ctx);
    csr = await createToken(gw.ctx.store.db, 'csr-maria', 'csr', NOW);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  it('finds a customer by account, meter, serial, name or address, and takes what is typed literally', async () => {
    const account = await gw.ctx.billing.account(leaky.accountNo);
    const search = async (q: string) =>
      (await json(await call(`/api/accounts?q=${encodeURIComponent(q)}`, { auth: csr }))).items as {
        accountNo: string;
      }[];
    for (const q of [
      leaky.accountNo,
      leaky.meterId,
      account!.meters[0]!.serial,
      account!.customerName.toUpperCase(),
      account!.address.slice(0, 8).toLowerCase(),
    ])
      expect(
        (await search(q)).map((a) => a.accountNo),
        q,
      ).toContain(leaky.accountNo);
    // % and _ are characters here, not wildcards that match every account.
    expect(await search('%%')).toEqual([]);
    expect(await search('__')).toEqual([]);
    const short = await call('/api/accounts?q=a', { auth: csr });
    expect(short.status).toBe(400);
    expect((await json(short)).error.field).toBe('q');
  });

  it('gives a CSR the account page: standing, meters, history, AMI usage, the leak alert and the bill explainer', async () => {
    const res = await call(`/api/accounts/${leaky.accountNo}`, { auth: csr });
    expect(res.status).toBe(200);
    const d = await json(res);
    expect(d.account.accountNo).toBe(leaky.accountNo);
    expect(d.pastDue.state).toMatch(/^(paid|balance_due|past_due|noticed|cut_ordered|cut)$/);
    const reg = d.meters.find((m: any) => m.meterId === leaky.meterId).registers[0];
    expect(reg.history.length).toBeGreaterThan(6);
    expect(reg.history[0]).toMatchObject({ readDate: expect.any(String), readType: expect.any(String) });
    // 40 days of intervals seeded: the last 40 of the page's 90 days have usage.
    expect(reg.usage.days.length).toBeGreaterThanOrEqual(39);
    expect(reg.explainer.sentences[0]).toMatch(/^This period: [\d,]+ gal over \d+ days/);
    expect(reg.explainer.sentences.join(' ')).toMatch(/Estimated charge \$[\d.]+ \(W-/);
    expect(d.alerts.map((a: any) => a.rule).sort()).toEqual(['continuous-flow', 'night-flow']);
    expect(d.exceptions.filter((x: any) => x.kind === 'ALERT_CONTINUOUS_FLOW')).toHaveLength(1);
    expect((await call('/api/accounts/NO-SUCH-1', { auth: csr })).status).toBe(404);
  });

  it('registers a customer once with an invitation, and a wrong, used or expired code says only that it does not match', async () => {
    const { code, expiresAt } = await invite(leaky.accountNo);
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(Date.parse(expiresAt) - NOW.getTime()).toBe(14 * 86_400_000);
    // Only the code's hash is kept.
    const stored = await gw.ctx.store.db('portal_invites').where({ account_no: leaky.accountNo }).first();
    expect(JSON.stringify(stored)).not.toContain(code.replace(/-/g, ''));
    const who = { accountNo: leaky.accountNo, username: 'emily', password: 'correct horse battery' };
    const wrong = await register({ ...who, code: 'AAAA-BBBB-CCCC' });
    expect(wrong.status).toBe(400);
    expect((await json(wrong)).error).toMatchObject({ code: 'INVITE_NO_MATCH', field: 'code' });
    // The right code for another account is no match either.
    const other = plan.find((p) => p.accountNo !== leaky.accountNo)!.accountNo!;
    expect((await register({ ...who, accountNo: other, code })).status).toBe(400);
    // Typed in lower case without dashes, as people do.
    const ok = await register({ ...who, code: code.toLowerCase().replace(/-/g, ''), displayName: 'Emily' });
    expect(ok.status).toBe(201);
    expect(await json(ok)).toEqual({ username: 'emily', accounts: [leaky.accountNo], created: true });
    const again = await register({ ...who, username: 'someone-else', code });
    expect((await json(again)).error.code).toBe('INVITE_NO_MATCH');
    // An expired invitation.
    const late = await invite(other);
    now = new Date(NOW.getTime() + 15 * 86_400_000);
    try {
      expect((await register({ ...who, username: 'late', accountNo: other, code: late.code })).status).toBe(400);
    } finally {
      now = NOW;
    }
    const audit = await gw.ctx.store.db('audit_log').whereIn('action', ['portal.invite', 'portal.register']);
    expect(audit.map((a) => a.action).sort()).toEqual(['portal.invite', 'portal.invite', 'portal.register']);
    expect(JSON.stringify(audit)).not.toContain(code);
  });

  it('throttles guessing at codes per account', async () => {
    const target = plan[plan.length - 1]!.accountNo!;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await register({ accountNo: target, code: `GUES-SGUE-SS0${i}`, username: 'guess', password: 'x'.repeat(12) }))
          .status,
      );
    expect(statuses.slice(0, 5).every((s) => s === 400)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });

  it('shows a customer their own account only: another account, real or not, is the same 404', async () => {
    const { cookie, body } = await login('emily', 'correct horse battery');
    expect(body.user.role).toBe('customer');
    const me = await json(await call('/api/portal/me', { cookie }));
    expect(me).toMatchObject({ username: 'emily', accounts: [leaky.accountNo], today: '2026-11-23' });
    const mine = await json(await call(`/api/portal/accounts/${leaky.accountNo}`, { cookie }));
    expect(mine.alerts.map((a: any) => a.message).join(' ')).toMatch(/water has run for \d+ hours without a break/);
    const other = plan.find((p) => p.accountNo !== leaky.accountNo)!.accountNo!;
    const theirs = await call(`/api/portal/accounts/${other}`, { cookie });
    const none = await call('/api/portal/accounts/9999999-99', { cookie });
    expect(theirs.status).toBe(404);
    expect(none.status).toBe(404);
    const strip = (b: any) => ({ ...b, error: { ...b.error, message: b.error.message.replace(/'[^']+'/, "'…'") } });
    expect(strip(await json(theirs))).toEqual(strip(await json(none)));
    for (const path of [`/usage?from=2026-11-01&to=2026-11-23`, `/export?from=2026-11-01&to=2026-11-23`])
      expect((await call(`/api/portal/accounts/${other}${path}`, { cookie })).status).toBe(404);
    // None of the gateway's own work.
    for (const path of [
      `/api/accounts/${leaky.accountNo}`,
      '/api/readings',
      '/api/exceptions',
      `/api/usage/meters/${leaky.meterId}?from=2026-11-01&to=2026-11-02`,
    ])
      expect((await call(path, { cookie })).status, path).toBe(403);
    // Hourly usage, and Download My Data as Green Button XML with every interval in it.
    const hourly = await json(
      await call(`/api/portal/accounts/${leaky.accountNo}/usage?from=2026-11-22&to=2026-11-22&grain=hour`, { cookie }),
    );
    expect(hourly.items[0].points).toHaveLength(24);
    const xml = await (
      await call(`/api/portal/accounts/${leaky.accountNo}/export?from=2026-11-20&to=2026-11-22`, { cookie })
    ).text();
    expect(xml.match(/<espi:IntervalReading>/g)).toHaveLength(72);
  });

  it('keeps alert preferences behind the CSRF token, and says which field is missing', async () => {
    const { cookie, csrf } = await login('emily', 'correct horse battery');
    const prefs = { email: 'emily@example.org', phone: null, byEmail: true, bySms: false };
    const forged = await call('/api/portal/preferences', { method: 'PUT', body: JSON.stringify(prefs), cookie });
    expect(forged.status).toBe(403);
    const saved = await call('/api/portal/preferences', { method: 'PUT', body: JSON.stringify(prefs), cookie, csrf });
    expect(saved.status).toBe(200);
    expect(await json(await call('/api/portal/preferences', { cookie }))).toEqual(prefs);
    const noPhone = await call('/api/portal/preferences', {
      method: 'PUT',
      body: JSON.stringify({ ...prefs, bySms: true }),
      cookie,
      csrf,
    });
    expect(noPhone.status).toBe(400);
    expect((await json(noPhone)).error.field).toBe('phone');
  });

  it('lets a CSR log in to the console but never a customer', async () => {
    await createUser(gw.ctx.store.db, { username: 'maria', role: 'csr', password: 'correct horse battery' }, NOW);
    const customer = await login('emily', 'correct horse battery');
    const page = await fetch(`${api.base}/console/account.html`, {
      headers: { cookie: customer.cookie },
      redirect: 'manual',
    });
    expect(page.status).toBe(403);
  });
});
