import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Interval } from '../../src/core/vee/types.js';
import { cmepLine } from '../tools/ami-fixtures.js';
import type { World } from './world.js';

/**
 * The outside world's side of a fault run, as the office, a technician and a head-end would
 * behave: each call retried until the gateway answers (it may be dead, restarting, or without
 * its database), and nothing assumed about a call whose answer was lost.
 */
export type Caller = 'admin' | 'tech' | 'reader';
/** The field users of a run: each signs in with a session, as the field app does. */
const FIELD_USERS = { tech: 'tech1', reader: 'reader1' } as const;
const PASSWORD = 'fault-suite-password';

export class GatewayApi {
  private readonly sessions: Record<'tech' | 'reader', { cookie: string; csrf: string }> = {
    tech: { cookie: '', csrf: '' },
    reader: { cookie: '', csrf: '' },
  };

  constructor(
    private readonly world: World,
    private readonly deadline: number,
  ) {}

  private get base(): string {
    return `http://127.0.0.1:${this.world.port}`;
  }

  /** One request; null when the gateway did not answer (down, restarting, timed out). A Buffer body goes as a photo. */
  async once(method: string, url: string, body: unknown, as: Caller): Promise<{ status: number; json: any } | null> {
    const raw = Buffer.isBuffer(body);
    const headers: Record<string, string> = { 'content-type': raw ? 'image/jpeg' : 'application/json' };
    if (as === 'admin') headers.authorization = `Bearer ${this.world.token}`;
    else Object.assign(headers, { cookie: this.sessions[as].cookie, 'x-csrf-token': this.sessions[as].csrf });
    try {
      const res = await fetch(`${this.base}${url}`, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? new Uint8Array(body) : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      let json: any = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = { text };
      }
      return { status: res.status, json };
    } catch {
      return null;
    }
  }

  /**
   * Retries until an answer `done` accepts; a 401 for a field user signs in again (a clock jump
   * can end a session). Throws at the run's deadline, naming the call.
   */
  async until(
    method: string,
    url: string,
    body: unknown,
    as: Caller,
    done: (status: number) => boolean,
  ): Promise<{ status: number; json: any }> {
    for (;;) {
      const r = await this.once(method, url, body, as);
      if (r && done(r.status)) return r;
      if (r?.status === 401 && as !== 'admin') await this.signIn(as).catch(() => undefined);
      if (Date.now() > this.deadline)
        throw new Error(
          `${method} ${url} got no usable answer before the deadline (last: ` +
            `${r ? `${r.status} ${JSON.stringify(r.json).slice(0, 300)}` : 'no answer'})`,
        );
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /** The run's technician and meter reader, added by the office and signed in. */
  async createFieldUsers(): Promise<void> {
    for (const role of ['tech', 'reader'] as const) {
      await this.until(
        'POST',
        '/api/users',
        { username: FIELD_USERS[role], role, password: PASSWORD },
        'admin',
        (s) => s === 201 || s === 409,
      );
      await this.signIn(role);
    }
  }

  private async signIn(role: 'tech' | 'reader'): Promise<void> {
    const res = await fetch(`${this.base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: FIELD_USERS[role], password: PASSWORD }),
      signal: AbortSignal.timeout(5000),
    }).catch(() => null);
    if (res?.status !== 201) throw new Error(`${role} login: ${res?.status ?? 'no answer'}`);
    this.sessions[role] = {
      cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!,
      csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
    };
  }
}

/**
 * An order from creation to completion: the office creates and dispatches it, the technician
 * accepts it, arrives and completes it. After a lost answer the order is read again and the
 * work goes on from the state it is in. Resolves with the outcome recorded.
 */
export async function workAnOrder(
  api: GatewayApi,
  orderNo: string,
  at: () => string,
): Promise<{ orderNo: string; outcome: string }> {
  const outcome = 'COMPLETED';
  const ok = (s: number) => s < 300 || s === 409;
  await api.until('POST', '/api/work-orders', { orderNo, type: 'Investigation', notes: 'fault suite' }, 'admin', ok);
  for (;;) {
    const { json: order } = await api.until('GET', `/api/work-orders/${orderNo}`, undefined, 'admin', (s) => s === 200);
    const version = order.version as number;
    switch (order.state as string) {
      case 'created':
        await api.until('POST', `/api/work-orders/${orderNo}/dispatch`, { version, technician: 'tech1' }, 'admin', ok);
        break;
      case 'dispatched':
        await api.until('POST', `/api/tech/orders/${orderNo}`, { version, state: 'accepted' }, 'tech', ok);
        break;
      case 'accepted':
        await api.until('POST', `/api/tech/orders/${orderNo}`, { version, state: 'on_site' }, 'tech', ok);
        break;
      case 'on_site':
        await api.until(
          'POST',
          `/api/tech/orders/${orderNo}`,
          { version, state: 'completed', completion: { outcome, completedAt: at(), notes: 'meter checked, no leak' } },
          'tech',
          ok,
        );
        break;
      case 'completed':
        return { orderNo, outcome: (order.completion?.outcome as string | undefined) ?? outcome };
      default:
        throw new Error(`order ${orderNo} went to ${order.state}`);
    }
  }
}

/** An AMI day for `meters`, as a head-end writes it: to a hidden name, then renamed in whole. */
export function dropAmiDay(
  world: World,
  name: string,
  meters: readonly { meterId: string; uom: string }[],
  dayStartUtc: number,
): boolean {
  const lines = meters.map((m, i) => {
    const ivs: Interval[] = Array.from({ length: 96 }, (_, k) => ({
      startAt: dayStartUtc + k * 900,
      seconds: 900,
      value: Math.round((0.2 + ((i + k) % 7) / 10) * 1000) / 1000,
      quality: 'A',
      flags: null,
    }));
    return cmepLine(m.meterId, m.uom, ivs);
  });
  mkdirSync(world.inbox, { recursive: true });
  const hidden = path.join(world.inbox, `.${name}.part`);
  try {
    writeFileSync(hidden, `${lines.join('\n')}\n`);
    renameSync(hidden, path.join(world.inbox, name));
    return true;
  } catch (err) {
    // A full disk: the head-end removes its partial file and tries again later.
    rmSync(hidden, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return false;
    throw err;
  }
}
