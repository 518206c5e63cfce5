import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * MQTT broker accounts. A device's username is its device id; its secret is shown once when it
 * is issued and stored only as an scrypt hash. Rotating a secret replaces the hash.
 */
/**
 * radio: an SDR receiver running rtlamr, which may publish only to <prefix>/rtlamr/<its name>.
 * tech: a field technician's tablet, which may publish only <prefix>/techs/<name>/updates and
 * subscribe only below <prefix>/techs/<name>/.
 */
export const MQTT_ROLES = ['device', 'radio', 'tech', 'csr', 'admin'] as const;
export type MqttRole = (typeof MQTT_ROLES)[number];

export interface MqttAccount {
  username: string;
  role: MqttRole;
}

function hashSecret(secret: string, salt = randomBytes(16)): string {
  return `scrypt$${salt.toString('base64')}$${scryptSync(secret, salt, 32).toString('base64')}`;
}

function secretMatches(secret: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = scryptSync(secret, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(expected, got);
}

/** Creates the account or gives it a new secret; returns the secret (shown once). */
export async function issueMqttSecret(db: Knex, username: string, role: MqttRole, now: Date): Promise<string> {
  const secret = randomBytes(18).toString('base64url');
  const row = { role, secret_hash: hashSecret(secret), created_at: now.toISOString(), revoked_at: null };
  const updated = await db('mqtt_accounts').where({ username }).update(row);
  if (updated === 0) await db('mqtt_accounts').insert({ username, ...row });
  return secret;
}

/** The account these credentials belong to, or null (unknown, revoked, or a wrong secret). */
export async function verifyMqttSecret(db: Knex, username: string, secret: string): Promise<MqttAccount | null> {
  const row = (await db('mqtt_accounts').where({ username }).whereNull('revoked_at').first()) as { username: string; role: MqttRole; secret_hash: string } | undefined;
  if (!row || !secretMatches(secret, row.secret_hash)) return null;
  return { username: row.username, role: row.role };
}
