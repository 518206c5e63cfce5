/**
 * Every API operation is declared once: method, path, roles, and the zod schemas of its path
 * parameters, query and body. The same declaration checks the role, validates the request and
 * writes the operation into the OpenAPI 3 document at /api/docs, so the documentation cannot
 * drift from what the gateway accepts. The security tests walk the same list.
 */

import { createHash } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Role } from '../../infra/store/tokens-repo.js';
import { audit } from '../../infra/store/audit-repo.js';
import { actorOf, allow } from './auth.js';

type Schema = z.ZodType;

export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express style, under /api: `/exceptions/:id/accept`. */
  path: string;
  summary: string;
  tag: string;
  /** Who may call it; admin always may. */
  roles: Role[];
  /** Needs no credentials at all (logging in, registering with an invitation code). */
  public?: boolean;
  params?: z.ZodObject;
  query?: Schema;
  body?: Schema;
  /** A body that is not JSON (an uploaded file): its media type. */
  rawBody?: string;
  /** The answer's media type when it is not JSON (CSV, an event stream, XML). */
  produces?: string;
  /** The success status (200 unless said). */
  status?: number;
  /** The service writes its own, fuller audit entry in the change's transaction. */
  auditsItself?: boolean;
}

export interface Input<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

type Out<S> = S extends Schema ? z.output<S> : undefined;

export class ApiRegistry {
  readonly operations: Operation[] = [];

  /**
   * Adds an operation to a router. The handler gets the parsed input; what it returns is sent
   * as JSON with the operation's status, unless it answered itself (a file, a stream).
   */
  route<O extends Operation>(
    router: Router,
    op: O,
    handler: (input: Input<Out<O['params']>, Out<O['query']>, Out<O['body']>>, req: Request, res: Response) => unknown,
  ): void {
    this.operations.push(op);
    router[op.method](op.path, allow(...op.roles), async (req: Request, res: Response) => {
      const input = {
        params: op.params ? op.params.parse(req.params) : undefined,
        query: op.query ? op.query.parse(req.query) : undefined,
        body: op.body ? op.body.parse(req.body ?? {}) : req.body,
      } as Input<Out<O['params']>, Out<O['query']>, Out<O['body']>>;
      const result = await handler(input, req, res);
      // Every change is in the audit log: who, which operation, on what, with what (never a password).
      if (op.method !== 'get' && !op.auditsItself && res.locals.ctx) {
        const detail = {
          params: input.params ?? null,
          query: op.rawBody ? (input.query ?? null) : undefined,
          body: auditedBody(input.body),
        };
        await audit(
          res.locals.ctx.store.db,
          {
            actor: actorOf(res.locals.principal),
            action: `${op.method.toUpperCase()} ${op.path}`,
            target: req.path,
            detail,
          },
          res.locals.ctx.clock(),
        );
      }
      if (!res.headersSent && result !== undefined) res.status(op.status ?? 200).json(result);
    });
  }

  /** The OpenAPI 3.1 document of every operation declared so far. */
  document(info: { title: string; version: string; description: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of this.operations) {
      const path = `/api${op.path.replace(/:(\w+)/g, '{$1}')}`;
      const parameters = [...parametersOf(op.params, 'path'), ...parametersOf(op.query, 'query')];
      const requestBody = op.rawBody
        ? { required: true, content: { [op.rawBody]: { schema: { type: 'string', format: 'binary' } } } }
        : op.body
          ? { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } }
          : undefined;
      const ok = { description: 'success', content: { [op.produces ?? 'application/json']: {} } };
      (paths[path] ??= {})[op.method] = {
        summary: op.summary,
        tags: [op.tag],
        'x-roles': ['admin', ...op.roles],
        ...(parameters.length ? { parameters } : {}),
        ...(requestBody ? { requestBody } : {}),
        responses: {
          [String(op.status ?? 200)]: ok,
          '400': { $ref: '#/components/responses/Invalid' },
          '401': { $ref: '#/components/responses/Unauthenticated' },
          '403': { $ref: '#/components/responses/Forbidden' },
        },
      };
    }
    const error = {
      description: '',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    return {
      openapi: '3.1.0',
      info,
      security: [{ bearer: [] }, { session: [] }],
      paths,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token (`fieldgate token create`)' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'fg_session',
            description: 'a console session; changes also need the x-csrf-token header',
          },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: {
                  code: { type: 'string' },
                  message: { type: 'string' },
                  field: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
        responses: {
          Invalid: { ...error, description: 'the input did not validate; `field` names what' },
          Unauthenticated: { ...error, description: 'no token or session, or one that is unknown or expired' },
          Forbidden: {
            ...error,
            description: 'the role may not do this, or a console change came without its CSRF token',
          },
        },
      },
    };
  }
}

/** Longest string value an audit entry keeps of a request body. */
const AUDIT_STRING = 500;

/**
 * What the audit log keeps of a request body: an uploaded file as its size and SHA-256, never its
 * bytes (security probe: spreading a 2 MB Buffer wrote a 24.9 MB audit row, byte by byte); a
 * JSON body without passwords, its long strings cut.
 */
export function auditedBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  if (body === null || typeof body !== 'object') return body ?? null;
  return JSON.parse(
    JSON.stringify(body, (key, value: unknown) => {
      if (key === 'password') return undefined;
      return typeof value === 'string' && value.length > AUDIT_STRING
        ? `${value.slice(0, AUDIT_STRING)}… (${value.length} characters)`
        : value;
    }),
  ) as unknown;
}

function jsonSchema(schema: Schema): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parametersOf(schema: Schema | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

/** Pagination for every list: `limit` (1-1000, 100 unless said) and `offset`. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

/** A page of a list that is already in memory (small lists: routes, jobs, docks). */
export function pageOf<T>(
  all: readonly T[],
  page: { limit: number; offset: number },
): { items: T[]; total: number; limit: number; offset: number } {
  return {
    items: all.slice(page.offset, page.offset + page.limit),
    total: all.length,
    limit: page.limit,
    offset: page.offset,
  };
}
