import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageAlertsJob } from '../../jobs/usage-alerts.js';
import { seedDemoUsage, type DemoUsagePlan } from '../../src/flows/ami/demo-usage.js';
import { createInvite, registerCustomer } from '../../src/flows/portal/invites.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { saveAlertPreferences } from '../../src/infra/store/customers-repo.js';
import { findUser } from '../../src/infra/store/users-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A customer who asked for alerts by e-mail and text hears of a leak once per alert and channel,
 * through a real SMTP server (a local sink) and an SMS webhook. A webhook that fails is tried
 * again on the next run; nothing is sent twice; a customer who did not ask gets nothing.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('alert delivery on $name', (dialect) => {
  let gw: TestGateway;
  let plan: DemoUsagePlan[];
  let smtp: SMTPServer;
  let webhook: Server;
  const mails: { to: string; raw: string }[] = [];
  const texts: { to: string; text: string; auth: string | undefined }[] = [];
  let webhookFails = true;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, done) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw });
          done();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (webhookFails) {
          res.statusCode = 503;
          return res.end('down');
        }
        texts.push({ ...(JSON.parse(body) as { to: string; text: string }), auth: req.headers.authorization });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    const hookPort = (webhook.address() as AddressInfo).port;
    gw = await testGateway(dialect, {
      label: 'deliver',
      accounts: 200,
      routes: 2,
      config: {
        alerts: {
          delivery: {
            smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
            smsWebhookUrl: `http://127.0.0.1:${hookPort}/sms`,
            smsWebhookToken: 'sms-secret',
            portalUrl: 'https://water.example/portal/',
          },
        },
      },
    });
    plan = (await seedDemoUsage({ ...gw.ctx, db: gw.ctx.store.db }, { meters: 12, days: 40, seed: 9 })).plan;
    const [leaky, quiet] = plan.filter((p) => p.story === 'leak');
    for (const [who, p, prefs] of [
      ['ann', leaky!, { email: 'ann@example.org', phone: '+1 217 555 0100', by_email: true, by_sms: true }],
      ['bob', quiet!, { email: 'bob@example.org', phone: null, by_email: false, by_sms: false }],
    ] as const) {
      const invite = await createInvite(gw.ctx, p.accountNo!, 'test');
      await registerCustomer(
        gw.ctx,
        { accountNo: p.accountNo!, code: invite.code, username: who, password: 'correct horse battery' },
        '127.0.0.1',
      );
      const user = (await findUser(gw.ctx.store.db, who))!;
      await saveAlertPreferences(gw.ctx.store.db, { user_id: user.id, ...prefs, updated_at: NOW.toISOString() });
    }
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((r) => smtp?.close(() => r()));
    await new Promise<void>((r) => webhook?.close(() => r()));
  });

  it('e-mails each open alert once, and keeps a failed text message for the next run', async () => {
    const first = await runJob(gw.ctx, usageAlertsJob, { trigger: 'manual' });
    expect(first.counts).toMatchObject({ opened: 8, delivered: 2, deliveryFailed: 2 });
    expect(mails).toHaveLength(2);
    expect(mails.every((m) => m.to === 'ann@example.org')).toBe(true);
    const leak = mails.find((m) => m.raw.includes('without a break'))!;
    expect(leak.raw).toMatch(/^Subject: Possible leak on account \d{7}-\d{2}$/m);
    expect(leak.raw).toMatch(/Water has run for \d+ hours without a break: check for a leak\./);
    expect(leak.raw).toContain('https://water.example/portal/');
    const failed = await gw.ctx.store.db('alert_deliveries').where({ channel: 'sms' });
    expect(failed.map((f) => [f.status, Number(f.attempts), f.error])).toEqual([
      ['failed', 1, 'the SMS webhook answered 503'],
      ['failed', 1, 'the SMS webhook answered 503'],
    ]);
  });

  it('sends the text messages once the webhook is back, and nothing twice', async () => {
    webhookFails = false;
    const second = await runJob(gw.ctx, usageAlertsJob, { trigger: 'manual' });
    expect(second.counts).toMatchObject({ opened: 0, kept: 8, delivered: 2, deliveryFailed: 0 });
    expect(mails).toHaveLength(2);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatchObject({ to: '+1 217 555 0100', auth: 'Bearer sms-secret' });
    expect(texts.map((t) => t.text).join(' ')).toMatch(/^Possible leak on account \d{7}-\d{2}: /);
    const third = await runJob(gw.ctx, usageAlertsJob, { trigger: 'manual' });
    expect(third.counts).toMatchObject({ delivered: 0, deliveryFailed: 0 });
    expect(mails).toHaveLength(2);
    expect(texts).toHaveLength(2);
    // Bob's account leaks too, but Bob asked for nothing.
    expect([...mails.map((m) => m.to), ...texts.map((t) => t.to)].join(' ')).not.toContain('bob');
  });
});
