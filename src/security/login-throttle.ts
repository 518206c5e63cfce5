import type { Knex } from 'knex';
import { AppError } from '../errors.js';

/**
 * Login throttling: too many failed logins for one username, or from one address, within the
 * window, and further attempts are refused with 429 until the oldest failure ages out. Failures
 * are kept in the store, so every gateway on one store counts them together.
 */
export interface ThrottleSettings {
  maxFailures: number;
  windowMinutes: number;
}

/** One address may try several usernames (a shared office PC), but not without end. */
const ADDRESS_FACTOR = 4;

export async function checkLoginAllowed(db: Knex, who: { username: string; ip: string }, settings: ThrottleSettings, now: Date): Promise<void> {
  const since = new Date(now.getTime() - settings.windowMinutes * 60_000).toISOString();
  const [byUser, byIp] = await Promise.all([
    db('login_failures').where('username', who.username).where('at', '>', since).count({ n: '*' }).min({ first: 'at' }).first(),
    db('login_failures').where('ip', who.ip).where('at', '>', since).count({ n: '*' }).min({ first: 'at' }).first(),
  ]);
  const limited = Number(byUser?.n ?? 0) >= settings.maxFailures ? byUser : Number(byIp?.n ?? 0) >= settings.maxFailures * ADDRESS_FACTOR ? byIp : null;
  if (!limited) return;
  const retryAfter = Math.max(1, Math.ceil((Date.parse(String(limited.first)) + settings.windowMinutes * 60_000 - now.getTime()) / 1000));
  throw Object.assign(new AppError('TOO_MANY_ATTEMPTS', `too many failed logins; try again in ${Math.ceil(retryAfter / 60)} minute(s)`, { status: 429, field: 'username' }), { retryAfter });
}

export async function recordLoginFailure(db: Knex, who: { username: string; ip: string }, now: Date): Promise<void> {
  await db('login_failures').insert({ username: who.username.slice(0, 64), ip: who.ip.slice(0, 64), at: now.toISOString() });
}

/** A successful login clears the user's failures (not the address's: those still count). */
export async function clearLoginFailures(db: Knex, username: string): Promise<void> {
  await db('login_failures').where({ username }).del();
}
