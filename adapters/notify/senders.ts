/**
 * Sending a customer's usage alert: e-mail through an SMTP server (nodemailer), or a text message
 * through the utility's SMS gateway as a webhook (POST JSON {to, text}, optionally with a bearer
 * token). Either answers sent, or why not; nothing here knows the store or the alert rules.
 */

import nodemailer from 'nodemailer';

export interface Message {
  to: string;
  subject: string;
  text: string;
}

export type SendResult = { ok: true } | { ok: false; error: string };

export interface Sender {
  readonly channel: 'email' | 'sms';
  send(message: Message): Promise<SendResult>;
  close(): void;
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);

export function smtpSender(opts: { url: string; from: string; timeoutMs: number }): Sender {
  // smtp://user:pass@host:port (smtps:// for TLS from the start); timeouts so a dead server cannot hold the job.
  const url = new URL(opts.url);
  url.searchParams.set('connectionTimeout', String(opts.timeoutMs));
  url.searchParams.set('greetingTimeout', String(opts.timeoutMs));
  url.searchParams.set('socketTimeout', String(opts.timeoutMs));
  const transport = nodemailer.createTransport(url.toString());
  return {
    channel: 'email',
    async send(m) {
      try {
        await transport.sendMail({ from: opts.from, to: m.to, subject: m.subject, text: m.text });
        return { ok: true };
      } catch (err) {
        return { ok: false, error: reason(err) };
      }
    },
    close: () => transport.close(),
  };
}

export function webhookSender(opts: { url: string; token: string | null; timeoutMs: number }): Sender {
  return {
    channel: 'sms',
    async send(m) {
      try {
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
          body: JSON.stringify({ to: m.to, text: m.text }),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        return res.ok ? { ok: true } : { ok: false, error: `the SMS webhook answered ${res.status}` };
      } catch (err) {
        return { ok: false, error: reason(err) };
      }
    },
    close: () => undefined,
  };
}
