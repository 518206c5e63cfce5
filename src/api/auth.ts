import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import { findToken, type Role } from '../store/tokens-repo.js';

export interface Principal {
  name: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Locals {
    principal?: Principal;
    /** The gateway context with a logger bound to this request's id. */
    ctx?: import('../app/context.js').GatewayContext;
  }
}

/** Bearer-token authentication for /api: a missing or unknown token is 401. */
export function authenticate(db: Knex): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(new AppError('UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <token>', { status: 401 }));
    const token = await findToken(db, match[1]!);
    if (!token) return next(new AppError('UNAUTHENTICATED', 'unknown or revoked token', { status: 401 }));
    res.locals.principal = { name: token.name, role: token.role };
    next();
  };
}

/** Allows only the listed roles (admin always); anything else is 403. */
export function allow(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    const role = res.locals.principal?.role;
    if (role && (role === 'admin' || roles.includes(role))) return next();
    next(new AppError('FORBIDDEN', `this action needs one of the roles: ${['admin', ...roles].join(', ')}`, { status: 403 }));
  };
}

/** Who did it, as recorded with route events and commands: `role:name`. */
export const actorOf = (p: Principal | undefined) => (p ? `${p.role}:${p.name}` : 'unknown');
