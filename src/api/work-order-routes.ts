import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../app/context.js';
import { WORK_ORDER_STATES, WORK_ORDER_TYPES, type Actor } from '../core/work-orders.js';
import { createWorkOrder, dispatchView, getWorkOrder, listWorkOrders, moveWorkOrder } from '../work-orders/work-orders.js';
import { allow, type Principal } from './auth.js';
import { newOrder, orderNo, techMove } from '../work-orders/schemas.js';
import { orderReRead } from '../work-orders/reread.js';

/**
 * Work orders over REST. CSRs create, list, dispatch and cancel (`/api/work-orders…`) and see
 * the dispatch board; a technician, with a token of their own (role tech, named for them),
 * lists their orders and works them (`/api/tech/orders…`). Every change names the version it
 * was made on; a stale one is a 409 with the order as it is now.
 */
export function workOrderRouter(ctx: GatewayContext): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const zone = ctx.config.timeZone;
  const actor = (p: Principal | undefined): Actor => (p?.role === 'tech' ? { role: 'tech', name: p.name } : { role: p?.role === 'admin' ? 'admin' : 'csr', name: p?.name ?? 'unknown' });

  r.post('/work-orders', allow('csr'), async (req, res) => {
    const body = newOrder.parse(req.body ?? {});
    const { order } = await createWorkOrder(db, ctx.config, { ...body, source: 'csr' }, actor(res.locals.principal), ctx.clock());
    res.status(201).json(order);
  });

  r.get('/work-orders', allow('csr'), async (req, res) => {
    const q = z.object({ state: z.enum(WORK_ORDER_STATES).optional(), open: z.enum(['true', 'false']).optional(), technician: z.string().max(64).optional(), type: z.enum(WORK_ORDER_TYPES).optional(), area: z.string().max(20).optional() }).parse(req.query);
    res.json({ items: await listWorkOrders(db, { ...q, open: q.open === 'true' }, zone, ctx.clock()) });
  });

  r.get('/work-orders/dispatch', allow('csr'), async (_req, res) => {
    res.json(await dispatchView(db, zone, ctx.clock()));
  });

  r.get('/work-orders/:orderNo', allow('csr'), async (req, res) => {
    res.json(await getWorkOrder(db, orderNo.parse(req.params.orderNo), zone, ctx.clock()));
  });

  r.post('/work-orders/:orderNo/dispatch', allow('csr'), async (req, res) => {
    const body = z.strictObject({ version: z.number().int().min(1), technician: z.string().min(1).max(64) }).parse(req.body ?? {});
    res.json(await moveWorkOrder(db, ctx.config, orderNo.parse(req.params.orderNo), { to: 'dispatched', version: body.version, technician: body.technician }, actor(res.locals.principal), ctx.clock()));
  });

  r.post('/work-orders/:orderNo/cancel', allow('csr'), async (req, res) => {
    const body = z.strictObject({ version: z.number().int().min(1), reason: z.string().trim().min(1, 'a reason is required; it is recorded with the order').max(500) }).parse(req.body ?? {});
    res.json(await moveWorkOrder(db, ctx.config, orderNo.parse(req.params.orderNo), { to: 'cancelled', version: body.version, reason: body.reason }, actor(res.locals.principal), ctx.clock()));
  });

  r.post('/exceptions/:id/reread', allow('csr'), async (req, res) => {
    const id = z.coerce.number().int().min(1).parse(req.params.id);
    const body = z.strictObject({ note: z.string().max(400).optional() }).parse(req.body ?? {});
    res.status(201).json(await orderReRead(ctx, id, actor(res.locals.principal), body.note));
  });

  r.get('/tech/orders', allow('tech'), async (_req, res) => {
    const me = res.locals.principal!.name;
    res.json({ technician: me, items: await listWorkOrders(db, { technician: me, open: true }, zone, ctx.clock()) });
  });

  r.post('/tech/orders/:orderNo', allow('tech'), async (req, res) => {
    const body = techMove.parse(req.body ?? {});
    const order = await moveWorkOrder(
      db,
      ctx.config,
      orderNo.parse(req.params.orderNo),
      { to: body.state, version: body.version, at: body.at, note: body.note, gps: body.gps, completion: body.completion ?? null, reason: body.completion?.reason ?? null },
      actor(res.locals.principal),
      ctx.clock(),
    );
    res.json(order);
  });
  return r;
}
