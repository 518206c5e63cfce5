import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError } from '../errors.js';
import { isUniqueViolation } from '../db/sql-utils.js';

/** API bearer tokens. Only a SHA-256 of each token is stored; the token is shown once. */
export const ROLES = ['csr', 'tech', 'admin', 'device'] as const;
export type Role = (typeof ROLES)[number];

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createToken(db: Knex, name: string, role: Role, now: Date): Promise<string> {
  const token = `fg_${randomBytes(24).toString('base64url')}`;
  try {
    await db('api_tokens').insert({ name, role, token_hash: hashToken(token), created_at: now.toISOString() });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('TOKEN_EXISTS', `a token named '${name}' exists already`, { field: 'name' });
    throw err;
  }
  return token;
}

export async function findToken(db: Knex, token: string): Promise<{ id: number; name: string; role: Role } | undefined> {
  return db('api_tokens').select('id', 'name', 'role').where({ token_hash: hashToken(token) }).whereNull('revoked_at').first();
}

export async function tokenCount(db: Knex): Promise<number> {
  const row = (await db('api_tokens').count({ n: '*' }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}
