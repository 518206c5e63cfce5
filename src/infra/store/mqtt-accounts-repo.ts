import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { DEVICE_ID_RULE, isDeviceId } from '../../core/device-id.js';
import { AppError } from '../../errors.js';

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

/**
 * Checked off the event loop (scrypt in the thread pool): scryptSync took ~36 ms of the loop per
 * login, and 800 wrong secrets made /healthz take 7.4 s (security probe).
 */
async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await new Promise<Buffer>((resolve, reject) =>
    scrypt(secret, Buffer.from(salt, 'base64'), expected.length, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return timingSafeEqual(expected, got);
}

/** A hash no secret matches, checked for unknown names so they take as long as known ones (no discovery by timing). */
const DECOY = `scrypt$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

/** Creates the account or gives it a new secret; returns the secret (shown once). */
export async function issueMqttSecret(db: Knex, username: string, role: MqttRole, now: Date): Promise<string> {
  if (!isDeviceId(username))
    throw new AppError(
      'INVALID_DEVICE_ID',
      `'${username.slice(0, 64)}' is not a valid name for an MQTT login: ${DEVICE_ID_RULE}`,
      { field: 'name', value: username.slice(0, 64) },
    );
  const secret = randomBytes(18).toString('base64url');
  const row = { role, secret_hash: hashSecret(secret), created_at: now.toISOString(), revoked_at: null };
  const updated = await db('mqtt_accounts').where({ username }).update(row);
  if (updated === 0) await db('mqtt_accounts').insert({ username, ...row });
  return secret;
}

/** The account these credentials belong to, or null (unknown, revoked, or a wrong secret). */
export async function verifyMqttSecret(db: Knex, username: string, secret: string): Promise<MqttAccount | null> {
  const row = (await db('mqtt_accounts').where({ username }).whereNull('revoked_at').first()) as
    { username: string; role: MqttRole; secret_hash: string } | undefined;
  const matches = await secretMatches(secret, row?.secret_hash ?? DECOY);
  if (!row || !matches) return null;
  return { username: row.username, role: row.role };
}
