/**
 * Green Button Connect My Data (issue 21, point 4): fieldgate as the Data Custodian, through the
 * OAuth 2 authorization code flow of @node-oauth/oauth2-server. This module is the library's
 * model over the store: third parties an admin registered, codes and tokens kept as SHA-256
 * hashes only, and the subscription a grant makes (one account, one third party, one scope),
 * which the customer can revoke from the portal, and with it every token issued for it.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import { AppError } from '../../errors.js';
import { audit } from '../../infra/store/audit-repo.js';
import { customerHasAccount } from '../../infra/store/customers-repo.js';
import {
  clientById,
  codeByHash,
  deleteCode,
  insertClient,
  insertCode,
  insertSubscription,
  insertToken,
  liveToken,
  type LiveToken,
  revokeSubscription,
  revokeTokenByRefresh,
  subscriptionById,
  subscriptionsOfUser,
} from '../../infra/store/oauth-repo.js';
import type { GatewayContext } from '../context.js';

type Ctx = Pick<GatewayContext, 'store' | 'config' | 'clock' | 'log'>;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const GRANTS = ['authorization_code', 'refresh_token'];

/** The resource a token opens, as Green Button token responses name it. */
export const batchUri = (subscriptionId: number) => `/espi/1_1/resource/Batch/Subscription/${subscriptionId}`;

/** Who granted: a customer, for one of their accounts; with the subscription once a token is issued. */
export interface Grantor {
  id: number;
  accountNo: string;
  subscriptionId?: number;
}

/** A third party's redirect URI: https, or http on this machine (a developer's test client). */
export const isRedirectUriAllowed = (uri: string) => /^https:\/\/|^http:\/\/(localhost|127\.0\.0\.1)[:/]/.test(uri);

export interface NewClient {
  name: string;
  redirectUris: string[];
  scopes: string[];
}

/** An admin registers a third party: its id and secret, the secret shown once and kept as a hash. */
export async function registerClient(
  ctx: Ctx,
  c: NewClient,
  by: string,
): Promise<{ clientId: string; clientSecret: string }> {
  const clientId = `gb-${randomBytes(9).toString('base64url')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await insertClient(ctx.store.db, {
    client_id: clientId,
    secret_hash: hash(clientSecret),
    name: c.name,
    redirect_uris: JSON.stringify(c.redirectUris),
    scopes: JSON.stringify(c.scopes),
    created_by: by.slice(0, 80),
    created_at: ctx.clock().toISOString(),
  });
  await audit(
    ctx.store.db,
    {
      actor: by,
      action: 'oauth.client.create',
      target: `client:${clientId}`,
      detail: { name: c.name, redirectUris: c.redirectUris, scopes: c.scopes },
    },
    ctx.clock(),
  );
  return { clientId, clientSecret };
}

function clientOf(row: { client_id: string; redirect_uris: string; scopes: string; name: string }) {
  return {
    id: row.client_id,
    name: row.name,
    grants: GRANTS,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    scopes: JSON.parse(row.scopes) as string[],
  };
}

const sameSecret = (given: string, storedHash: string) =>
  timingSafeEqual(Buffer.from(hash(given), 'hex'), Buffer.from(storedHash, 'hex'));

/** What a live token grants: its scope, its third party, and who granted which account. */
function grantOf(row: LiveToken) {
  return {
    scope: row.scope.split(' ').filter(Boolean),
    client: { id: row.client_id, grants: GRANTS },
    user: { id: row.user_id, accountNo: row.account_no, subscriptionId: row.subscription_id } satisfies Grantor,
  };
}

/** The library's model over the store. */
export function oauthModel(ctx: Ctx): OAuth2Server.AuthorizationCodeModel & OAuth2Server.RefreshTokenModel {
  const db = ctx.store.db;
  return {
    async getClient(clientId, clientSecret) {
      const row = await clientById(db, clientId);
      if (!row) return false;
      // No secret is asked when the customer is sent to authorize; every token request needs it.
      if (clientSecret !== null && clientSecret !== undefined && !sameSecret(clientSecret, row.secret_hash))
        return false;
      return clientOf(row);
    },
    async validateScope(_user, client, scope) {
      const allowed = (client as ReturnType<typeof clientOf>).scopes;
      if (!scope || scope.length === 0 || !scope.every((s) => allowed.includes(s))) return false;
      return scope;
    },
    async saveAuthorizationCode(code, client, user) {
      const grantor = user as Grantor;
      await insertCode(db, {
        code_hash: hash(code.authorizationCode),
        client_id: client.id,
        user_id: grantor.id,
        account_no: grantor.accountNo,
        scope: (code.scope ?? []).join(' '),
        redirect_uri: code.redirectUri,
        code_challenge: code.codeChallenge ?? null,
        code_challenge_method: code.codeChallengeMethod ?? null,
        expires_at: code.expiresAt.toISOString(),
      });
      return { ...code, client, user };
    },
    async getAuthorizationCode(authorizationCode) {
      const row = await codeByHash(db, hash(authorizationCode));
      if (!row) return false;
      return {
        authorizationCode,
        expiresAt: new Date(row.expires_at),
        redirectUri: row.redirect_uri,
        scope: row.scope.split(' ').filter(Boolean),
        client: { id: row.client_id, grants: GRANTS },
        user: { id: row.user_id, accountNo: row.account_no } satisfies Grantor,
        ...(row.code_challenge
          ? { codeChallenge: row.code_challenge, codeChallengeMethod: row.code_challenge_method! }
          : {}),
      };
    },
    async revokeAuthorizationCode(code) {
      return deleteCode(db, hash(code.authorizationCode));
    },
    async saveToken(token, client, user) {
      const grantor = user as Grantor;
      const scope = (token.scope ?? []).join(' ');
      const subscriptionId =
        grantor.subscriptionId ??
        (await insertSubscription(db, {
          client_id: client.id,
          user_id: grantor.id,
          account_no: grantor.accountNo,
          scope,
          created_at: ctx.clock().toISOString(),
          revoked_at: null,
        }));
      await insertToken(db, {
        access_hash: hash(token.accessToken),
        refresh_hash: token.refreshToken ? hash(token.refreshToken) : null,
        client_id: client.id,
        subscription_id: subscriptionId,
        scope,
        access_expires_at: token.accessTokenExpiresAt!.toISOString(),
        refresh_expires_at: token.refreshTokenExpiresAt?.toISOString() ?? null,
      });
      return {
        ...token,
        client,
        user: { ...grantor, subscriptionId },
        // Green Button's token response names the data the token opens.
        resourceURI: batchUri(subscriptionId),
        authorizationURI: `/espi/1_1/resource/Authorization/${subscriptionId}`,
      };
    },
    async getAccessToken(accessToken) {
      const row = await liveToken(db, 'access_hash', hash(accessToken));
      return row ? { accessToken, accessTokenExpiresAt: new Date(row.access_expires_at), ...grantOf(row) } : false;
    },
    async getRefreshToken(refreshToken) {
      const row = await liveToken(db, 'refresh_hash', hash(refreshToken));
      if (!row?.refresh_expires_at) return false;
      return { refreshToken, refreshTokenExpiresAt: new Date(row.refresh_expires_at), ...grantOf(row) };
    },
    async revokeToken(token) {
      return revokeTokenByRefresh(db, hash(token.refreshToken), ctx.clock().toISOString());
    },
    async verifyScope(token, scope) {
      const granted = Array.isArray(token.scope) ? token.scope : [];
      return scope.every((s) => granted.includes(s));
    },
  };
}

export function oauthServer(ctx: Ctx): OAuth2Server {
  const c = ctx.config.portal.connect;
  return new OAuth2Server({
    model: oauthModel(ctx),
    accessTokenLifetime: c.accessTokenMinutes * 60,
    refreshTokenLifetime: c.refreshTokenDays * 86_400,
    authorizationCodeLifetime: c.codeSeconds,
    allowExtendedTokenAttributes: true,
    requireClientAuthentication: { authorization_code: true, refresh_token: true },
  });
}

/** What the customer is asked to grant: the third party and the scope, checked before anything is shown. */
export async function describeRequest(ctx: Ctx, q: { client_id: string; redirect_uri?: string; scope?: string }) {
  const row = await clientById(ctx.store.db, q.client_id);
  if (!row)
    throw new AppError('NOT_FOUND', `no third party is registered as ${q.client_id}`, {
      status: 404,
      field: 'client_id',
    });
  const client = clientOf(row);
  // A redirect URI that is not registered is refused here, and never redirected to.
  if (q.redirect_uri !== undefined && !client.redirectUris.includes(q.redirect_uri))
    throw new AppError('BAD_INPUT', `the redirect URI is not registered for ${client.name}`, {
      status: 400,
      field: 'redirect_uri',
    });
  const scope = (q.scope ?? '').split(' ').filter(Boolean);
  const outside = scope.filter((s) => !client.scopes.includes(s));
  return { clientId: client.id, name: client.name, scope, outside };
}

/** The subscriptions a customer granted, newest first. */
export async function connectionsOf(ctx: Ctx, userId: number) {
  return (await subscriptionsOfUser(ctx.store.db, userId)).map((s) => ({
    id: s.id,
    clientId: s.client_id,
    name: s.client_name ?? s.client_id,
    accountNo: s.account_no,
    scope: s.scope,
    grantedAt: s.created_at,
    revokedAt: s.revoked_at,
  }));
}

/** The customer revokes a grant: the subscription and every token of it stop working at once. */
export async function revokeConnection(ctx: Ctx, userId: number, subscriptionId: number): Promise<void> {
  const s = await subscriptionById(ctx.store.db, subscriptionId);
  if (!s || Number(s.user_id) !== userId)
    throw new AppError('NOT_FOUND', `no connection ${subscriptionId} of yours`, { status: 404 });
  await revokeSubscription(ctx.store.db, subscriptionId, ctx.clock().toISOString());
  await audit(
    ctx.store.db,
    {
      actor: `customer:${userId}`,
      action: 'oauth.revoke',
      target: `subscription:${subscriptionId}`,
      detail: { clientId: s.client_id },
    },
    ctx.clock(),
  );
}

/** Whether the customer may grant access to this account. */
export const mayGrant = (ctx: Ctx, userId: number, accountNo: string) =>
  customerHasAccount(ctx.store.db, userId, accountNo);

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A subscription as ESPI's Authorization resource: status (1 active, 0 revoked), scope, and the
 * resource and authorization URIs. The caller has checked the token opens it.
 */
export async function authorizationEntry(ctx: Ctx, subscriptionId: number): Promise<string | null> {
  const s = await subscriptionById(ctx.store.db, subscriptionId);
  if (!s) return null;
  const self = `/espi/1_1/resource/Authorization/${subscriptionId}`;
  const published = Math.floor(Date.parse(s.created_at) / 1000);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<entry xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">' +
    `<id>urn:fieldgate:${self}</id><link rel="self" href="${self}"/><title>Authorization ${subscriptionId}</title>` +
    `<content><espi:Authorization><espi:authorizedPeriod><espi:duration>0</espi:duration>` +
    `<espi:start>${published}</espi:start></espi:authorizedPeriod>` +
    `<espi:status>${s.revoked_at ? 0 : 1}</espi:status><espi:scope>${xml(s.scope)}</espi:scope>` +
    `<espi:tokenType>0</espi:tokenType><espi:resourceURI>${batchUri(subscriptionId)}</espi:resourceURI>` +
    `<espi:authorizationURI>${self}</espi:authorizationURI></espi:Authorization></content>` +
    `<published>${s.created_at}</published><updated>${ctx.clock().toISOString()}</updated></entry>\n`
  );
}
