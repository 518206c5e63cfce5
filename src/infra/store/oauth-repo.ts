import type { Knex } from 'knex';
import { insertReturningId } from '../db/sql-utils.js';
import type {
  EspiSubscriptionsRow,
  OauthClientsInsert,
  OauthClientsRow,
  OauthCodesRow,
  OauthTokensInsert,
  OauthTokensRow,
} from './tables.js';

/** Connect My Data's third parties, codes, tokens and subscriptions. Codes and tokens by their hash only. */
type Db = Knex | Knex.Transaction;

export async function insertClient(db: Db, row: OauthClientsInsert): Promise<void> {
  await db('oauth_clients').insert(row);
}

export async function clientById(db: Db, clientId: string): Promise<OauthClientsRow | undefined> {
  return db('oauth_clients').where({ client_id: clientId }).whereNull('disabled_at').first();
}

export async function listClients(db: Db): Promise<Omit<OauthClientsRow, 'secret_hash'>[]> {
  return db('oauth_clients')
    .select('id', 'client_id', 'name', 'redirect_uris', 'scopes', 'created_by', 'created_at', 'disabled_at')
    .orderBy('id');
}

export async function insertCode(db: Db, row: OauthCodesRow): Promise<void> {
  await db('oauth_codes').insert(row);
}

export async function codeByHash(db: Db, codeHash: string): Promise<OauthCodesRow | undefined> {
  return db('oauth_codes').where({ code_hash: codeHash }).first();
}

/** Deletes a code: true only for the one caller that deleted it (a code is exchanged once). */
export async function deleteCode(db: Db, codeHash: string): Promise<boolean> {
  return (await db('oauth_codes').where({ code_hash: codeHash }).del()) === 1;
}

export async function insertSubscription(db: Db, row: Omit<EspiSubscriptionsRow, 'id'>): Promise<number> {
  return insertReturningId(db, 'espi_subscriptions', row);
}

export async function subscriptionById(db: Db, id: number): Promise<EspiSubscriptionsRow | undefined> {
  return db('espi_subscriptions').where({ id }).first();
}

export async function subscriptionsOfUser(
  db: Db,
  userId: number,
): Promise<(EspiSubscriptionsRow & { client_name: string | null })[]> {
  return db('espi_subscriptions')
    .leftJoin('oauth_clients', 'oauth_clients.client_id', 'espi_subscriptions.client_id')
    .select('espi_subscriptions.*', 'oauth_clients.name as client_name')
    .where({ user_id: userId })
    .orderBy('espi_subscriptions.id', 'desc');
}

/** Revokes a subscription and every token issued for it. */
export async function revokeSubscription(db: Db, id: number, at: string): Promise<void> {
  await db('espi_subscriptions').where({ id }).whereNull('revoked_at').update({ revoked_at: at });
  await db('oauth_tokens').where({ subscription_id: id }).whereNull('revoked_at').update({ revoked_at: at });
}

export async function insertToken(db: Db, row: OauthTokensInsert): Promise<void> {
  await db('oauth_tokens').insert(row);
}

export type LiveToken = OauthTokensRow & { user_id: number; account_no: string };

/** A token not revoked, of a subscription not revoked, by the hash of its access or refresh token. */
export async function liveToken(
  db: Db,
  by: 'access_hash' | 'refresh_hash',
  hash: string,
): Promise<LiveToken | undefined> {
  return db('oauth_tokens')
    .join('espi_subscriptions', 'espi_subscriptions.id', 'oauth_tokens.subscription_id')
    .select('oauth_tokens.*', 'espi_subscriptions.user_id', 'espi_subscriptions.account_no')
    .where(`oauth_tokens.${by}`, hash)
    .whereNull('oauth_tokens.revoked_at')
    .whereNull('espi_subscriptions.revoked_at')
    .first();
}

export async function revokeTokenByRefresh(db: Db, refreshHash: string, at: string): Promise<boolean> {
  return (
    (await db('oauth_tokens')
      .where({ refresh_hash: refreshHash })
      .whereNull('revoked_at')
      .update({ revoked_at: at })) === 1
  );
}
