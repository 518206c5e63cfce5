/**
 * Telling customers of their usage alerts (issue 21, point 3): after each usage-alerts run, every
 * open alert goes once to each customer of its account who asked for it, by e-mail and or text
 * message (portal alert preferences). What was sent, and what failed and why, is recorded per
 * alert, customer and channel; a failed send is tried again on the next run, up to
 * alerts.delivery.attempts times. Never the other way: a cleared alert is not sent late.
 */

import { smtpSender, webhookSender, type Sender } from '../../../adapters/notify/senders.js';
import { pendingDeliveries, recordDelivery, type PendingDelivery } from '../../infra/store/customers-repo.js';
import type { GatewayContext } from '../context.js';

type Ctx = Pick<GatewayContext, 'store' | 'config' | 'clock' | 'log'>;

const PAGE = 500;
const KIND: Record<string, string> = {
  'continuous-flow': 'Possible leak',
  'night-flow': 'Possible leak',
  'reverse-flow': 'Meter running backwards',
  'stopped-meter': 'Meter may have stopped',
  'high-usage': 'High usage',
  'gone-quiet': 'Meter not reporting',
};

/** The senders the configuration names (none when neither SMTP nor an SMS webhook is set). */
export function configuredSenders(ctx: Ctx): Sender[] {
  const d = ctx.config.alerts.delivery;
  return [
    ...(d.smtpUrl ? [smtpSender({ url: d.smtpUrl, from: d.from, timeoutMs: d.timeoutMs })] : []),
    ...(d.smsWebhookUrl
      ? [webhookSender({ url: d.smsWebhookUrl, token: d.smsWebhookToken, timeoutMs: d.timeoutMs })]
      : []),
  ];
}

export function alertMessage(p: PendingDelivery, portalUrl: string, channel: 'email' | 'sms') {
  const said = `${p.message[0]!.toUpperCase()}${p.message.slice(1)}.`;
  const subject = `${KIND[p.rule] ?? 'Usage alert'} on account ${p.account_no}`;
  const text =
    channel === 'sms'
      ? `${subject}: ${said} ${portalUrl}`
      : `${said}\n\nSee your usage: ${portalUrl}\n\nYou get this because you asked for usage alerts by e-mail; ` +
        'change that in the portal under "Alerts by e-mail or text".\n';
  return { to: p.to, subject, text };
}

export async function deliverAlerts(
  ctx: Ctx,
  senders: readonly Sender[] = configuredSenders(ctx),
): Promise<{ sent: number; failed: number }> {
  const d = ctx.config.alerts.delivery;
  let sent = 0;
  let failed = 0;
  for (const sender of senders) {
    // Each run takes what is pending now; a failure is recorded and waits for the next run.
    const pending = await pendingDeliveries(ctx.store.db, sender.channel, d.attempts, PAGE);
    for (const p of pending) {
      const result = await sender.send(alertMessage(p, d.portalUrl, sender.channel));
      await recordDelivery(ctx.store.db, {
        alert_id: p.alert_id,
        user_id: p.user_id,
        channel: sender.channel,
        status: result.ok ? 'sent' : 'failed',
        attempts: p.attempts + 1,
        error: result.ok ? null : result.error,
        at: ctx.clock().toISOString(),
      });
      if (result.ok) sent++;
      else {
        failed++;
        ctx.log.warn('usage alert not delivered', {
          module: 'alerts',
          channel: sender.channel,
          alert: p.alert_id,
          attempt: p.attempts + 1,
          error: result.error,
        });
      }
    }
  }
  return { sent, failed };
}
