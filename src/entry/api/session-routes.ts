import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { AppError, NotFoundError } from '../../errors.js';
import { beginLogin, loginSucceeded } from '../../infra/store/login-throttle.js';
import { DECOY_HASH, verifyPassword } from '../../infra/security/passwords.js';
import { audit, auditTrail } from '../../infra/store/audit-repo.js';
import { ROLES } from '../../infra/store/tokens-repo.js';
import {
  createSession,
  deleteSession,
  disableUser,
  findSession,
  findUser,
  listUsers,
} from '../../infra/store/users-repo.js';
import { addUser } from '../../flows/users.js';
import { actorOf, cookieValue, SESSION_COOKIE } from './auth.js';
import { pageQuery, type ApiRegistry } from './openapi.js';

/**
 * Console sign-in and the people who use it. Logging in sets an httpOnly, SameSite=Strict
 * session cookie and returns the session's CSRF token, which the console sends with every
 * change. Failed logins are throttled per username and per address. Admins manage users;
 * everything here is in the audit log.
 */
const credentials = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) });

function sessionCookie(ctx: GatewayContext, req: Request, value: string, maxAgeMs: number): string {
  const mode = ctx.config.auth.secureCookies;
  const secure = mode === 'always' || (mode === 'auto' && req.secure);
  return (
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; ` +
    `Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`
  );
}

/** POST /api/session: the one route that needs no credentials, so it is mounted before authentication. */
export function loginRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  registry.operations.push({
    method: 'post',
    path: '/session',
    summary: 'Log in to the console (sets the session cookie; returns the CSRF token)',
    tag: 'session',
    roles: [],
    public: true,
    body: credentials,
  });
  r.post('/session', express.json({ limit: '4kb' }), async (req: Request, res: Response) => {
    const body = credentials.parse(req.body ?? {});
    const who = { username: body.username.toLowerCase(), ip: req.ip ?? 'unknown' };
    const now = ctx.clock();
    const attempt = await beginLogin(db, who, ctx.config.auth.login, now);
    const user = await findUser(db, who.username);
    // A missing user costs the same scrypt as a wrong password, so timing does not tell which.
    const ok = await verifyPassword(body.password, user?.password_hash ?? DECOY_HASH);
    if (!user || !ok || user.disabled_at) {
      // The attempt stays recorded as a failure.
      ctx.log.warn('login refused', { module: 'auth', username: who.username, ip: who.ip });
      throw new AppError('BAD_CREDENTIALS', 'wrong username or password', { status: 401, field: 'password' });
    }
    await loginSucceeded(db, attempt);
    const lifetime = ctx.config.auth.sessionHours * 3_600_000;
    const session = await createSession(db, user.id, now, lifetime);
    await audit(
      db,
      {
        actor: `${user.role}:${user.username}`,
        action: 'session.login',
        target: `user:${user.username}`,
        detail: { ip: who.ip },
      },
      now,
    );
    res.setHeader('set-cookie', sessionCookie(ctx, req, session.id, lifetime));
    res.status(201).json({
      user: { username: user.username, displayName: user.display_name, role: user.role },
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt,
    });
  });
  return r;
}

export function sessionRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const everyone = [...ROLES];

  registry.route(
    r,
    {
      method: 'get',
      path: '/session',
      summary: "Who is logged in, and the session's CSRF token",
      tag: 'session',
      roles: everyone,
    },
    async (_i, req, res) => {
      const p = res.locals.principal!;
      const sid = cookieValue(req, SESSION_COOKIE);
      const session = p.via === 'session' && sid ? await findSession(db, sid, ctx.clock()) : undefined;
      return {
        user: { username: p.name, displayName: session?.displayName ?? null, role: p.role },
        timeZone: ctx.config.timeZone,
        via: p.via,
        csrfToken: session?.csrfToken ?? null,
        expiresAt: session?.expiresAt ?? null,
      };
    },
  );

  registry.route(
    r,
    { method: 'delete', path: '/session', summary: 'Log out', tag: 'session', roles: everyone },
    async (_i, req, res) => {
      const sid = cookieValue(req, SESSION_COOKIE);
      if (sid) await deleteSession(db, sid);
      res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return { loggedOut: true };
    },
  );

  registry.route(
    r,
    { method: 'get', path: '/users', summary: 'Users of the console', tag: 'users', roles: [], query: pageQuery },
    async ({ query }) => ({
      items: await listUsers(db, query),
      limit: query.limit,
      offset: query.offset,
    }),
  );

  const newUser = z.strictObject({
    username: z.string().min(2).max(64),
    role: z.enum(ROLES),
    password: z.string().min(10).max(200),
    displayName: z.string().max(100).optional(),
  });
  registry.route(
    r,
    {
      method: 'post',
      path: '/users',
      summary: 'Create a user',
      tag: 'users',
      roles: [],
      body: newUser,
      status: 201,
      auditsItself: true,
    },
    async ({ body }, _req, res) => {
      const now = ctx.clock();
      const user = await addUser(ctx, body);
      await audit(
        db,
        {
          actor: actorOf(res.locals.principal),
          action: 'user.create',
          target: `user:${user.username}`,
          detail: { role: user.role },
        },
        now,
      );
      return { username: user.username, role: user.role, displayName: user.display_name, createdAt: user.created_at };
    },
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/users/:username/disable',
      summary: 'Disable a user and end their sessions',
      tag: 'users',
      roles: [],
      params: z.object({ username: z.string().min(1).max(64) }),
      auditsItself: true,
    },
    async ({ params }, _req, res) => {
      const now = ctx.clock();
      if (!(await disableUser(db, params.username, now))) throw new NotFoundError('user', params.username);
      await audit(
        db,
        { actor: actorOf(res.locals.principal), action: 'user.disable', target: `user:${params.username}` },
        now,
      );
      return { username: params.username, disabled: true };
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/audit',
      summary: 'The audit log: who changed what',
      tag: 'audit',
      roles: ['csr'],
      query: pageQuery.extend({ target: z.string().max(120).optional(), actor: z.string().max(80).optional() }),
    },
    async ({ query }) => ({ items: await auditTrail(db, query), limit: query.limit, offset: query.offset }),
  );
  return r;
}
