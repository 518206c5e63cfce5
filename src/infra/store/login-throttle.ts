/**
 * Login throttling for the console and the MQTT broker. Failures are kept in the store, so every
 * gateway on one store counts them together.
 *
 * The attempt is recorded before it is counted, and counted before the secret is checked: one
 * step, so parallel attempts cannot all see the count from before any of them (security probe:
 * 40 parallel wrong passwords got 25 checks with a limit of 5). An attempt that turns out right
 * is removed; a wrong one stays as a failure; one refused by the throttle is removed again, so
 * hammering a locked name does not keep it locked for ever.
 *
 * What is locked, in order: one username from one address (maxFailures); one address over any
 * usernames (maxFailuresPerAddress); one username from everywhere only after many failures
 * (maxFailuresPerUsername), so one desk cannot lock demo-admin out for everyone.
 */

import type { Knex } from 'knex';
import { insertReturningId } from '../db/sql-utils.js';
import { AppError } from '../../errors.js';

export interface ThrottleSettings {
  maxFailures: number;
  maxFailuresPerAddress: number;
  maxFailuresPerUsername: number;
  windowMinutes: number;
}

export interface LoginAttempt {
  id: number;
  username: string;
  ip: string;
}

export class TooManyAttemptsError extends AppError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super('TOO_MANY_ATTEMPTS', message, { status: 429, field: 'username' });
  }
}

/** Records an attempt and says whether it may go on to the secret check; throws TooManyAttemptsError if not. */
export async function beginLogin(
  db: Knex,
  who: { username: string; ip: string },
  settings: ThrottleSettings,
  now: Date,
): Promise<LoginAttempt> {
  const attempt = { username: who.username.slice(0, 64), ip: who.ip.slice(0, 64) };
  const id = await insertReturningId(db, 'login_failures', { ...attempt, at: now.toISOString() });
  const since = new Date(now.getTime() - settings.windowMinutes * 60_000).toISOString();
  const recent = () => db('login_failures').where('at', '>', since);
  const [pair, address, user] = await Promise.all([
    recent().where({ username: attempt.username, ip: attempt.ip }).count({ n: '*' }).min({ first: 'at' }).first(),
    recent().where({ ip: attempt.ip }).count({ n: '*' }).min({ first: 'at' }).first(),
    recent().where({ username: attempt.username }).count({ n: '*' }).min({ first: 'at' }).first(),
  ]);
  // Each count includes this attempt: more than the limit means the limit was reached before it.
  const over = (row: typeof pair, limit: number) => (Number(row?.n ?? 0) > limit ? row : null);
  const limited =
    over(pair, settings.maxFailures) ??
    over(address, settings.maxFailuresPerAddress) ??
    over(user, settings.maxFailuresPerUsername);
  if (!limited) return { id, ...attempt };
  await db('login_failures').where({ id }).del();
  const retryAfter = Math.max(
    1,
    Math.ceil((Date.parse(String(limited.first)) + settings.windowMinutes * 60_000 - now.getTime()) / 1000),
  );
  throw new TooManyAttemptsError(
    `too many failed logins; try again in ${Math.ceil(retryAfter / 60)} minute(s)`,
    retryAfter,
  );
}

/** A right secret: the attempt is not a failure, and this address's earlier failures for the name are forgiven. */
export async function loginSucceeded(db: Knex, attempt: LoginAttempt): Promise<void> {
  await db('login_failures').where({ username: attempt.username, ip: attempt.ip }).del();
}
