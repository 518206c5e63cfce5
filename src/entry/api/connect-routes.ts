import express, { type Request, type Response } from 'express';
import OAuth2Server from '@node-oauth/oauth2-server';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { AppError, NotFoundError } from '../../errors.js';
import {
  connectionsOf,
  authorizationEntry,
  describeRequest,
  isRedirectUriAllowed,
  mayGrant,
  oauthServer,
  registerClient,
  revokeConnection,
  type Grantor,
} from '../../flows/portal/connect-my-data.js';
import { subscriptionUsage } from '../../flows/portal/customer-usage.js';
import type { EspiPart } from '../../flows/ami/espi-writer.js';
import { listClients } from '../../infra/store/oauth-repo.js';
import { findUser } from '../../infra/store/users-repo.js';
import { ACCOUNT_NO } from './account-routes.js';
import { actorOf } from './auth.js';
import type { ApiRegistry } from './openapi.js';

/**
 * Green Button Connect My Data over HTTP. Third parties use the standard endpoints: the
 * customer is sent to /oauth/authorize (the portal asks them, signed in, which account to share),
 * the code is exchanged at /oauth/token (client id and secret, form-encoded), and the token
 * opens the ESPI resources of its subscription under /espi/1_1/resource/. The customer lists and
 * revokes grants in the portal; an admin registers third parties.
 */
const oauthParams = {
  response_type: z.literal('code'),
  client_id: z.string().min(1).max(64),
  redirect_uri: z.url().max(500),
  scope: z.string().min(1).max(500),
  state: z.string().min(1).max(500),
  code_challenge: z.string().min(43).max(128).optional(),
  code_challenge_method: z.enum(['S256', 'plain']).optional(),
};

/** An OAuth error as RFC 6749 §5.2 has it, from the library's error. */
function sendOAuthError(res: Response, err: unknown): void {
  if (err instanceof OAuth2Server.OAuthError) {
    res.status(err.code).json({ error: err.name, error_description: err.message });
    return;
  }
  throw err;
}

const libraryRequest = (req: Request, extra: { body?: unknown; query?: Record<string, string> } = {}) =>
  new OAuth2Server.Request({
    headers: req.headers as Record<string, string>,
    method: req.method,
    query: extra.query ?? (req.query as Record<string, string>),
    body: extra.body ?? req.body ?? {},
  });

/** /oauth/… and /espi/…: outside /api, on the standards' own terms (form bodies, bearer tokens of their own). */
export function connectPublicRouter(ctx: GatewayContext): express.Router {
  const r = express.Router();
  const server = oauthServer(ctx);

  // The customer's browser arrives here from the third party: the portal asks them.
  r.get('/oauth/authorize', (req, res) => {
    const query = new URL(req.originalUrl, 'http://x').search;
    res.redirect(302, `/portal/authorize.html${query}`);
  });

  r.post('/oauth/token', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
    const response = new OAuth2Server.Response(res);
    try {
      const token = await server.token(libraryRequest(req), response);
      ctx.log.info('connect my data: token issued', {
        module: 'oauth',
        client: token.client.id,
        subscription: (token.user as Grantor).subscriptionId,
        grant: req.body?.grant_type,
      });
      res.set(response.headers ?? {});
      res.setHeader('cache-control', 'no-store');
      res.status(response.status ?? 200).json(response.body);
    } catch (err) {
      res.setHeader('cache-control', 'no-store');
      sendOAuthError(res, err);
    }
  });

  /** The grant behind a bearer token, and that it opens this subscription. */
  const granted = async (req: Request, res: Response, subscription: string): Promise<Grantor | null> => {
    try {
      const token = await server.authenticate(libraryRequest(req), new OAuth2Server.Response(res));
      const grant = token.user as Grantor;
      if (String(grant.subscriptionId) !== subscription) {
        res.status(403).json({
          error: 'insufficient_scope',
          error_description: `this token does not open subscription ${subscription}`,
        });
        return null;
      }
      return grant;
    } catch (err) {
      if (err instanceof OAuth2Server.OAuthError) {
        res.setHeader('www-authenticate', `Bearer realm="fieldgate", error="${err.name}"`);
        res.status(err.code === 400 ? 401 : err.code).json({ error: err.name, error_description: err.message });
        return null;
      }
      throw err;
    }
  };
  const window = z.object({
    'published-min': z.iso.datetime({ offset: true }).optional(),
    'published-max': z.iso.datetime({ offset: true }).optional(),
  });
  const serve = (parts?: readonly EspiPart[]) => async (req: Request, res: Response) => {
    const grant = await granted(req, res, String(req.params.subscription));
    if (!grant) return;
    const q = window.safeParse(req.query);
    if (!q.success) {
      res.status(400).json({
        error: 'invalid_request',
        error_description: q.error.issues[0]!.message,
        field: q.error.issues[0]!.path.join('.'),
      });
      return;
    }
    const max = q.data['published-max']
      ? Date.parse(q.data['published-max']) / 1000
      : Math.floor(ctx.clock().getTime() / 1000);
    const min = q.data['published-min'] ? Date.parse(q.data['published-min']) / 1000 : max - 30 * 86_400;
    if (!(min < max) || max - min > 400 * 86_400) {
      res.status(400).json({
        error: 'invalid_request',
        error_description: 'published-min must be before published-max, at most 400 days apart',
      });
      return;
    }
    try {
      const feed = await subscriptionUsage(
        ctx,
        { accountNo: grant.accountNo, subscriptionId: grant.subscriptionId! },
        {
          min,
          max,
          parts,
          usagePoint: req.params.usagePoint === undefined ? undefined : String(req.params.usagePoint),
        },
      );
      res.setHeader('content-type', 'application/atom+xml; charset=utf-8');
      for (const c of feed) if (!res.write(c)) await new Promise((resolve) => res.once('drain', resolve));
      res.end();
    } catch (err) {
      if (err instanceof NotFoundError) res.status(404).json({ error: 'not_found', error_description: err.message });
      else throw err;
    }
  };
  const base = '/espi/1_1/resource';
  // The grant itself, as ESPI's Authorization resource (the token response's authorizationURI).
  r.get(`${base}/Authorization/:subscription`, async (req, res) => {
    const grant = await granted(req, res, String(req.params.subscription));
    if (!grant) return;
    const entry = await authorizationEntry(ctx, grant.subscriptionId!);
    if (!entry) return void res.status(404).json({ error: 'not_found', error_description: 'no such authorization' });
    res.setHeader('content-type', 'application/atom+xml; charset=utf-8');
    res.send(entry);
  });
  r.get(`${base}/Batch/Subscription/:subscription`, serve());
  r.get(`${base}/Subscription/:subscription/UsagePoint`, serve(['UsagePoint']));
  r.get(`${base}/Subscription/:subscription/UsagePoint/:usagePoint`, serve(['UsagePoint']));
  r.get(`${base}/Subscription/:subscription/UsagePoint/:usagePoint/MeterReading`, serve(['MeterReading']));
  r.get(
    `${base}/Subscription/:subscription/UsagePoint/:usagePoint/MeterReading/:reading/IntervalBlock`,
    serve(['IntervalBlock']),
  );
  return r;
}

/** The portal's side of the grant, and an admin's registry of third parties (in /api, with sessions). */
export function connectApiRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const server = oauthServer(ctx);
  const userOf = async (res: Response) => {
    const user = await findUser(db, res.locals.principal!.name);
    if (!user) throw new NotFoundError('user', res.locals.principal!.name);
    return user;
  };

  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/oauth/request',
      summary: 'What a third party asks the customer to grant (checked before it is shown)',
      tag: 'connect my data',
      roles: ['customer'],
      query: z.object(oauthParams),
    },
    async ({ query }) => describeRequest(ctx, query),
  );
  registry.route(
    r,
    {
      method: 'post',
      path: '/portal/oauth/authorize',
      summary:
        "The customer's answer: grant one account to the third party, or deny; returns where to send the browser",
      tag: 'connect my data',
      roles: ['customer'],
      body: z.strictObject({ ...oauthParams, accountNo: ACCOUNT_NO, allowed: z.boolean() }),
      auditsItself: true,
    },
    async ({ body }, req, res) => {
      const user = await userOf(res);
      if (!(await mayGrant(ctx, user.id, body.accountNo))) throw new NotFoundError('account', body.accountNo);
      // Checked first: an unknown client or a redirect URI not registered is an error here, never a redirect.
      await describeRequest(ctx, body);
      const { accountNo, allowed, ...params } = body;
      const response = new OAuth2Server.Response(res);
      const grantor: Grantor = { id: user.id, accountNo };
      try {
        await server.authorize(
          libraryRequest(req, { body: { ...params, allowed: String(allowed) }, query: {} }),
          response,
          {
            authenticateHandler: { handle: async () => grantor },
          },
        );
      } catch (err) {
        if (!(err instanceof OAuth2Server.OAuthError)) throw err;
        // Denied, or a scope the third party is not registered for: the error goes back to it.
      }
      const location = response.get('location') as string | undefined;
      if (!location) throw new AppError('BAD_INPUT', 'the request cannot be answered', { status: 400 });
      return { redirect: location };
    },
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/connections',
      summary: 'The third parties the customer shares usage with',
      tag: 'connect my data',
      roles: ['customer'],
    },
    async (_i, _req, res) => ({ items: await connectionsOf(ctx, (await userOf(res)).id) }),
  );
  registry.route(
    r,
    {
      method: 'delete',
      path: '/portal/connections/:id',
      summary: "Revoke a third party's access: its tokens stop working at once",
      tag: 'connect my data',
      roles: ['customer'],
      params: z.object({ id: z.coerce.number().int().positive() }),
      auditsItself: true,
    },
    async ({ params }, _req, res) => {
      await revokeConnection(ctx, (await userOf(res)).id, params.id);
      return { revoked: params.id };
    },
  );
  registry.route(
    r,
    {
      method: 'post',
      path: '/oauth/clients',
      summary: 'Register a Connect My Data third party (its secret is shown once)',
      tag: 'connect my data',
      roles: [],
      status: 201,
      auditsItself: true,
      body: z.strictObject({
        name: z.string().min(1).max(100),
        redirectUris: z
          .array(z.url().max(500).refine(isRedirectUriAllowed, 'https, or http on localhost'))
          .min(1)
          .max(10),
        scopes: z
          .array(
            z
              .string()
              .regex(
                /^[\x21\x23-\x5b\x5d-\x7e]{1,300}$/,
                'an ESPI scope such as FB=1_3_4_5_13_14_39;IntervalDuration=3600',
              ),
          )
          .min(1)
          .max(20),
      }),
    },
    async ({ body }, _req, res) => registerClient(ctx, body, actorOf(res.locals.principal)),
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/oauth/clients',
      summary: 'Registered Connect My Data third parties',
      tag: 'connect my data',
      roles: [],
    },
    async () => ({ items: await listClients(db) }),
  );
  return r;
}
