import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError } from '../../errors.js';
import { isUniqueViolation } from '../db/sql-utils.js';

/** API bearer tokens. Only a SHA-256 of each token is stored; the token is shown once. */
import type { Role } from '../../core/roles.js';
export { ROLES, type Role } from '../../core/roles.js';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createToken(db: Knex, name: string, role: Role, now: Date): Promise<string> {
  const token = `fg_${randomBytes(24).toString('base64url')}`;
  try {
    await db('api_tokens').insert({ name, role, token_hash: hashToken(token), created_at: now.toISOString() });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new ConflictError('TOKEN_EXISTS', `a token named '${name}' exists already`, { field: 'name' });
    throw err;
  }
  return token;
}

export async function findToken(
  db: Knex,
  token: string,
): Promise<{ id: number; name: string; role: Role } | undefined> {
  return db('api_tokens')
    .select('id', 'name', 'role')
    .where({ token_hash: hashToken(token) })
    .whereNull('revoked_at')
    .first();
}

export async function tokenCount(db: Knex): Promise<number> {
  const row = (await db('api_tokens').count({ n: '*' }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}

export interface TokenInfo {
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

/** Every token by name, newest first; never the token (only its hash is kept). */
export async function listTokens(db: Knex): Promise<TokenInfo[]> {
  const rows = await db('api_tokens').select('name', 'role', 'created_at', 'revoked_at').orderBy('id', 'desc');
  return rows.map((r) => ({
    name: r.name,
    role: r.role,
    createdAt: String(r.created_at),
    revokedAt: r.revoked_at == null ? null : String(r.revoked_at),
  }));
}

/** Revokes the token of that name at once (every gateway on the store refuses it from its next request). */
export async function revokeToken(db: Knex, name: string, now: Date): Promise<boolean> {
  return (await db('api_tokens').where({ name }).whereNull('revoked_at').update({ revoked_at: now.toISOString() })) > 0;
}
