/**
 * Who is calling. APIs take a bearer token (devices, scripts, technicians' apps); the console
 * takes a session cookie (httpOnly, SameSite=Strict) and, for anything that changes data, the
 * session's CSRF token in a header, so another site cannot act with the cookie.
 */

import type { Request, RequestHandler } from 'express';
import type { Knex } from 'knex';
import { AppError } from '../../errors.js';
import { findToken, type Role } from '../../infra/store/tokens-repo.js';
import { findSession } from '../../infra/store/users-repo.js';

export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'session';
}

declare module 'express-serve-static-core' {
  interface Locals {
    principal?: Principal;
    /** The gateway context with a logger bound to this request's id. */
    ctx?: import('../../flows/context.js').GatewayContext;
  }
}

export const SESSION_COOKIE = 'fg_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The value of one cookie from the Cookie header; a value that does not decode is no value (a
 * malformed `fg_session` such as `%E0%A4%A` gave a 500 with a stack in the log).
 */
export function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return '';
      }
    }
  }
  return undefined;
}

const unauthenticated = (message: string) => new AppError('UNAUTHENTICATED', message, { status: 401 });

/** The principal of a request, or why there is none. Shared by /api and the console's pages. */
export async function principalOf(db: Knex, req: Request, now: Date): Promise<Principal | AppError> {
  const header = req.get('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S{1,200})$/i.exec(header);
    if (!match) return unauthenticated('send a bearer token: Authorization: Bearer <token>');
    const token = await findToken(db, match[1]!);
    return token ? { name: token.name, role: token.role, via: 'token' } : unauthenticated('unknown or revoked token');
  }
  const sid = cookieValue(req, SESSION_COOKIE);
  if (sid === undefined) return unauthenticated('log in, or send a bearer token: Authorization: Bearer <token>');
  const session = sid.length > 0 && sid.length <= 100 ? await findSession(db, sid, now) : undefined;
  if (!session) return unauthenticated('your session has ended; log in again');
  if (!SAFE_METHODS.has(req.method) && req.get(CSRF_HEADER) !== session.csrfToken) {
    return new AppError('CSRF', `a change from the console needs the session's ${CSRF_HEADER} header`, { status: 403 });
  }
  return { name: session.username, role: session.role, via: 'session' };
}

/** Authentication for /api: a bearer token or a console session; otherwise 401 (403 for a missing CSRF token). */
export function authenticate(db: Knex, clock: () => Date): RequestHandler {
  return async (req, res, next) => {
    const who = await principalOf(db, req, clock());
    if (who instanceof AppError) return next(who);
    res.locals.principal = who;
    next();
  };
}

/** True when the role may do what is allowed to `roles` (admin may do everything). */
export const roleAllowed = (role: Role | undefined, roles: readonly Role[]) =>
  Boolean(role && (role === 'admin' || roles.includes(role)));

/** Allows only the listed roles (admin always); anything else is 403. */
export function allow(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    if (roleAllowed(res.locals.principal?.role, roles)) return next();
    next(
      new AppError('FORBIDDEN', `this action needs one of the roles: ${['admin', ...roles].join(', ')}`, {
        status: 403,
      }),
    );
  };
}

/** Who did it, as recorded with route events, commands and the audit log: `role:name`. */
export const actorOf = (p: Principal | undefined) => (p ? `${p.role}:${p.name}` : 'unknown');
