import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { WORK_ORDER_STATES, WORK_ORDER_TYPES, type Actor } from '../../core/work-orders.js';
import {
  createWorkOrder,
  dispatchView,
  getWorkOrder,
  listWorkOrders,
  moveWorkOrder,
} from '../../flows/work-orders/work-orders.js';
import type { Principal } from './auth.js';
import { newOrder, orderNo, techMove } from '../../flows/work-orders/schemas.js';
import { orderReRead } from '../../flows/work-orders/reread.js';
import { keepOrderPhoto, orderHistory } from '../../flows/work-orders/order-photos.js';
import { techMoves } from '../../core/work-orders.js';
import { pageQuery, type ApiRegistry } from './openapi.js';
import { answerPhoto, uploadedBytes } from './photo-upload.js';

/**
 * Work orders over REST. CSRs create, list, dispatch and cancel (`/api/work-orders…`) and see
 * the dispatch board; a technician, with a token of their own (role tech, named for them),
 * lists their orders and works them (`/api/tech/orders…`). Every change names the version it
 * was made on; a stale one is a 409 with the order as it is now.
 */
export function workOrderRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const zone = ctx.config.timeZone;
  const actor = (p: Principal | undefined): Actor =>
    p?.role === 'tech'
      ? { role: 'tech', name: p.name }
      : { role: p?.role === 'admin' ? 'admin' : 'csr', name: p?.name ?? 'unknown' };
  const order = z.object({ orderNo });

  registry.route(
    r,
    {
      method: 'post',
      path: '/work-orders',
      summary: 'Create a work order',
      tag: 'work orders',
      roles: ['csr'],
      body: newOrder,
      status: 201,
    },
    async ({ body }, _req, res) =>
      (await createWorkOrder(db, ctx.config, { ...body, source: 'csr' }, actor(res.locals.principal), ctx.clock()))
        .order,
  );

  const listQuery = pageQuery.extend({
    state: z.enum(WORK_ORDER_STATES).optional(),
    open: z.enum(['true', 'false']).optional(),
    technician: z.string().max(64).optional(),
    type: z.enum(WORK_ORDER_TYPES).optional(),
    area: z.string().max(20).optional(),
  });
  registry.route(
    r,
    {
      method: 'get',
      path: '/work-orders',
      summary: 'Work orders, filtered and paged',
      tag: 'work orders',
      roles: ['csr'],
      query: listQuery,
    },
    async ({ query: q }) => ({
      items: await listWorkOrders(db, { ...q, open: q.open === 'true' }, zone, ctx.clock()),
      limit: q.limit,
      offset: q.offset,
    }),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/work-orders/dispatch',
      summary: 'The dispatch board: open orders by state, type, technician and area, with the overdue',
      tag: 'work orders',
      roles: ['csr'],
    },
    () => dispatchView(db, zone, ctx.clock()),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/work-orders/:orderNo',
      summary: 'One order with its history',
      tag: 'work orders',
      roles: ['csr'],
      params: order,
    },
    async ({ params }) => ({
      ...(await getWorkOrder(db, params.orderNo, zone, ctx.clock())),
      ...(await orderHistory(ctx, params.orderNo)),
    }),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/work-orders/:orderNo/dispatch',
      summary: 'Dispatch (or re-dispatch) to a technician',
      tag: 'work orders',
      roles: ['csr'],
      params: order,
      body: z.strictObject({ version: z.number().int().min(1), technician: z.string().min(1).max(64) }),
    },
    ({ params, body }, _req, res) =>
      moveWorkOrder(
        db,
        ctx.config,
        params.orderNo,
        { to: 'dispatched', version: body.version, technician: body.technician },
        actor(res.locals.principal),
        ctx.clock(),
      ),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/work-orders/:orderNo/cancel',
      summary: 'Cancel an order, with a reason',
      tag: 'work orders',
      roles: ['csr'],
      params: order,
      body: z.strictObject({
        version: z.number().int().min(1),
        reason: z.string().trim().min(1, 'a reason is required; it is recorded with the order').max(500),
      }),
    },
    ({ params, body }, _req, res) =>
      moveWorkOrder(
        db,
        ctx.config,
        params.orderNo,
        { to: 'cancelled', version: body.version, reason: body.reason },
        actor(res.locals.principal),
        ctx.clock(),
      ),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/exceptions/:id/reread',
      summary: "Order a re-read of the exception's meter (resolves the exception with the order number)",
      tag: 'exceptions',
      roles: ['csr'],
      params: z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
      body: z.strictObject({ note: z.string().max(400).optional() }),
      status: 201,
    },
    ({ params, body }, _req, res) => orderReRead(ctx, params.id, actor(res.locals.principal), body.note),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/tech/orders',
      summary: "A technician's open orders",
      tag: 'technicians',
      roles: ['tech'],
      query: pageQuery,
    },
    async ({ query }, _req, res) => {
      const me = res.locals.principal!.name;
      return {
        technician: me,
        items: await listWorkOrders(
          db,
          { technician: me, open: true, limit: query.limit, offset: query.offset },
          zone,
          ctx.clock(),
        ),
        limit: query.limit,
        offset: query.offset,
      };
    },
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/tech/orders/:orderNo',
      summary: 'A technician works an order: accept, en route, on site, complete or fail',
      tag: 'technicians',
      roles: ['tech'],
      params: order,
      body: techMove,
    },
    ({ params, body }, _req, res) =>
      moveWorkOrder(
        db,
        ctx.config,
        params.orderNo,
        {
          to: body.state,
          version: body.version,
          at: body.at,
          note: body.note,
          gps: body.gps,
          completion: body.completion ?? null,
          reason: body.completion?.reason ?? null,
          updateId: body.updateId ?? null,
        },
        actor(res.locals.principal),
        ctx.clock(),
      ),
  );

  registry.route(
    r,
    {
      method: 'put',
      path: '/tech/orders/:orderNo/photos',
      summary: "A photo of the technician's order (JPEG, PNG or WebP; kept once): its completion names it by hash",
      tag: 'technicians',
      roles: ['tech'],
      params: order,
      rawBody: 'image/jpeg',
    },
    ({ params }, req, res) =>
      answerPhoto(res, keepOrderPhoto(ctx, params.orderNo, actor(res.locals.principal), uploadedBytes(req))),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/tech/rules',
      summary: "The moves a technician may make from each state, and what each type's completion requires",
      tag: 'technicians',
      roles: ['tech'],
    },
    async () => ({ moves: techMoves(), types: ctx.config.workOrders.types }),
  );
  return r;
}
