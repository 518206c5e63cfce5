/** People who log in to the console, and their sessions. A session cookie is stored only as its SHA-256. */

import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, ConflictError } from '../../errors.js';
import { isUniqueViolation } from '../db/sql-utils.js';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../security/passwords.js';
import type { Role } from './tokens-repo.js';
import type { UsersRow } from './tables.js';

export type UserRow = UsersRow;

export interface SessionUser {
  userId: number;
  username: string;
  displayName: string | null;
  role: Role;
  csrfToken: string;
  expiresAt: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export async function createUser(
  db: Knex,
  user: { username: string; role: Role; password: string; displayName?: string | null },
  now: Date,
): Promise<UserRow> {
  if (!USERNAME.test(user.username))
    throw new AppError('INVALID_INPUT', 'a username is 2-64 lower-case letters, digits, dot, dash or underscore', {
      field: 'username',
      status: 400,
    });
  if (user.password.length < MIN_PASSWORD_LENGTH)
    throw new AppError('INVALID_INPUT', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`, {
      field: 'password',
      status: 400,
    });
  const row = {
    username: user.username,
    display_name: user.displayName ?? null,
    role: user.role,
    password_hash: await hashPassword(user.password),
    created_at: now.toISOString(),
  };
  try {
    await db('users').insert(row);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new ConflictError('USER_EXISTS', `a user named '${user.username}' exists already`, { field: 'username' });
    throw err;
  }
  return (await findUser(db, user.username))!;
}

export async function findUser(db: Knex, username: string): Promise<UserRow | undefined> {
  return db<UserRow>('users').where({ username }).first();
}

export async function listUsers(
  db: Knex,
  page: { limit: number; offset: number },
): Promise<Omit<UserRow, 'password_hash'>[]> {
  return db('users')
    .select('id', 'username', 'display_name', 'role', 'created_at', 'disabled_at')
    .orderBy('username')
    .limit(page.limit)
    .offset(page.offset);
}

export async function userCount(db: Knex): Promise<number> {
  const row = (await db('users').count({ n: '*' }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}

export async function setPassword(db: Knex, username: string, password: string): Promise<boolean> {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new AppError('INVALID_INPUT', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`, {
      field: 'password',
      status: 400,
    });
  const n = await db('users')
    .where({ username })
    .update({ password_hash: await hashPassword(password) });
  if (n > 0) await db('sessions').whereIn('user_id', db('users').select('id').where({ username })).del();
  return n > 0;
}

/** Disables a user and ends their sessions at once. */
export async function disableUser(db: Knex, username: string, now: Date): Promise<boolean> {
  const n = await db('users').where({ username }).whereNull('disabled_at').update({ disabled_at: now.toISOString() });
  if (n > 0) await db('sessions').whereIn('user_id', db('users').select('id').where({ username })).del();
  return n > 0;
}

/** A new session: returns the cookie value (shown to the browser only) and its CSRF token. */
export async function createSession(
  db: Knex,
  userId: number,
  now: Date,
  lifetimeMs: number,
): Promise<{ id: string; csrfToken: string; expiresAt: string }> {
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = new Date(now.getTime() + lifetimeMs).toISOString();
  // Expired sessions are swept as new ones are made, so the table does not grow forever.
  await db('sessions').where('expires_at', '<', now.toISOString()).del();
  await db('sessions').insert({
    id_hash: sha256(id),
    user_id: userId,
    csrf_token: csrfToken,
    created_at: now.toISOString(),
    expires_at: expiresAt,
  });
  return { id, csrfToken, expiresAt };
}

export async function findSession(db: Knex, id: string, now: Date): Promise<SessionUser | undefined> {
  const row = await db('sessions')
    .join('users', 'users.id', 'sessions.user_id')
    .select(
      'users.id as user_id',
      'users.username',
      'users.display_name',
      'users.role',
      'sessions.csrf_token',
      'sessions.expires_at',
    )
    .where('sessions.id_hash', sha256(id))
    .where('sessions.expires_at', '>', now.toISOString())
    .whereNull('users.disabled_at')
    .first();
  return row
    ? {
        userId: row.user_id,
        username: row.username,
        displayName: row.display_name,
        role: row.role,
        csrfToken: row.csrf_token,
        expiresAt: row.expires_at,
      }
    : undefined;
}

export async function deleteSession(db: Knex, id: string): Promise<void> {
  await db('sessions')
    .where({ id_hash: sha256(id) })
    .del();
}
