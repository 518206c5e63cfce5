import { attachmentsOfReading } from '../../infra/store/attachments-repo.js';
import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { NotFoundError } from '../../errors.js';
import { resolveException, resolveMany, type ExceptionAction } from '../../flows/exceptions/exception-actions.js';
import { exceptionQueue, exceptionWithRoute } from '../../infra/store/exceptions-repo.js';
import { readingRowByKey } from '../../infra/store/readings-repo.js';
import { auditTrail } from '../../infra/store/audit-repo.js';
import { actorOf } from './auth.js';
import { pageQuery, type ApiRegistry } from './openapi.js';
import { METER_ID_MAX } from '../../core/meter-id.js';

/**
 * The exception queue: filter by status, route, kind, meter and age, newest or oldest first; act
 * on one (accept, correct, estimate; re-read is with the work orders) or on many at once.
 */
const id = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
const actionBody = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('accept'), note: z.string().trim().max(400).optional() }),
  z.strictObject({
    action: z.literal('correct'),
    reading: z.number().int().min(0).max(99_999_999_999),
    reason: z.string().trim().min(1, 'a correction needs a reason; it is kept in the audit log').max(400),
  }),
  z.strictObject({ action: z.literal('estimate'), reason: z.string().trim().max(400).optional() }),
]);
const { action: _a, ...acceptShape } = actionBody.options[0].shape;
const { action: _c, ...correctShape } = actionBody.options[1].shape;
const { action: _e, ...estimateShape } = actionBody.options[2].shape;

export const exceptionQuery = pageQuery.extend({
  status: z.enum(['open', 'resolved']).optional(),
  kind: z
    .string()
    .regex(/^[A-Z_]{1,30}$/, 'an exception kind such as HIGH_READ')
    .optional(),
  route: z.string().max(20).optional(),
  meter: z.string().max(METER_ID_MAX).optional(),
  batch: z.coerce.number().int().min(1).optional(),
  /** Only exceptions at least this many days old (the aging queue). */
  minAgeDays: z.coerce.number().min(0).max(3650).optional(),
  order: z.enum(['oldest', 'newest']).default('oldest'),
});

export function exceptionRouter(ctx: GatewayContext, registry: ApiRegistry, onChange: () => void): express.Router {
  const r = express.Router();
  const db = ctx.store.db;

  registry.route(
    r,
    {
      method: 'get',
      path: '/exceptions',
      summary: 'The exception queue, filtered and paged',
      tag: 'exceptions',
      roles: ['csr'],
      query: exceptionQuery,
    },
    async ({ query: q }) => {
      const minCreatedAt =
        q.minAgeDays === undefined
          ? undefined
          : new Date(ctx.clock().getTime() - q.minAgeDays * 86_400_000).toISOString();
      // One more than asked tells whether there is a next page without counting the whole queue.
      const rows = await exceptionQueue(db, { ...q, limit: q.limit + 1, createdBefore: minCreatedAt });
      return {
        items: rows.slice(0, q.limit),
        limit: q.limit,
        offset: q.offset,
        nextOffset: rows.length > q.limit ? q.offset + q.limit : null,
      };
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/exceptions/:id',
      summary: 'One exception, its raw input and its audit trail',
      tag: 'exceptions',
      roles: ['csr'],
      params: id,
    },
    async ({ params }) => {
      const ex = await exceptionWithRoute(db, params.id);
      if (!ex) throw new NotFoundError('exception', params.id);
      const reading = ex.read_key ? await readingRowByKey(db, String(ex.read_key)) : null;
      return {
        ...ex,
        reading: reading ?? null,
        // The field app's photos of this meter on this route (a register photo backs a high read).
        photos:
          ex.route_id && ex.meter_id ? await attachmentsOfReading(db, Number(ex.route_id), String(ex.meter_id)) : [],
        audit: await auditTrail(db, { target: `exception:${params.id}`, limit: 50, offset: 0 }),
      };
    },
  );

  const act = (action: ExceptionAction['action'], summary: string, body: z.ZodObject) =>
    registry.route(
      r,
      {
        method: 'post',
        path: `/exceptions/:id/${action}`,
        summary,
        tag: 'exceptions',
        roles: ['csr'],
        params: id,
        body,
        auditsItself: true,
      },
      async ({ params, body: b }, _req, res) => {
        const result = await resolveException(
          ctx,
          params.id,
          { action, ...(b as object) } as ExceptionAction,
          actorOf(res.locals.principal),
        );
        onChange();
        return result;
      },
    );
  act('accept', 'Accept the reading as read', z.strictObject(acceptShape));
  act('correct', 'Correct the reading (the value before and after go to the audit log)', z.strictObject(correctShape));
  act('estimate', 'Replace the reading with an estimate from history', z.strictObject(estimateShape));

  const bulk = z.strictObject({ ids: z.array(z.number().int().min(1)).min(1).max(500) }).and(actionBody);
  registry.route(
    r,
    {
      method: 'post',
      path: '/exceptions/bulk',
      summary: 'Accept, correct or estimate many exceptions; each is its own change',
      tag: 'exceptions',
      roles: ['csr'],
      body: bulk,
      auditsItself: true,
    },
    async ({ body }, _req, res) => {
      const { ids, ...action } = body;
      const result = await resolveMany(ctx, ids, action, actorOf(res.locals.principal));
      onChange();
      return result;
    },
  );
  return r;
}
