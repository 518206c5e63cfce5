import express from 'express';
import { z } from 'zod';
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../../core/device-id.js';
import { assignRoute, clearRoute, reloadRoute } from '../../flows/dock/dock-commands.js';
import type { DockService, DockStatus } from '../../flows/dock/dock-service.js';
import { NotFoundError } from '../../errors.js';
import { listDevices, recentCommands, setDeviceApproved } from '../../infra/store/dock-repo.js';
import { actorOf } from './auth.js';
import { pageOf, pageQuery, type ApiRegistry } from './openapi.js';

/**
 * Docks for the CSR: live status of every port, transfer progress as server-sent events, the
 * devices the gateway has seen (an admin approves new ones), and the commands that assign,
 * re-load or clear routes, each with who asked and why.
 */
const deviceId = z.string().regex(DEVICE_ID_PATTERN, DEVICE_ID_RULE);
const routeCode = z.string().min(1).max(20);
const reason = z.string().trim().min(1, 'a reason is required; it is recorded with the route').max(500);

export function dockRouter(dock: DockService, registry: ApiRegistry): express.Router {
  const r = express.Router();

  registry.route(
    r,
    {
      method: 'get',
      path: '/dock',
      summary: 'Every dock port: link, device, session and transfer',
      tag: 'docks',
      roles: ['csr'],
      query: pageQuery,
    },
    ({ query }) => pageOf(dock.status(), query),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/dock/events',
      summary: 'Dock status as server-sent events (`status`), the current state first',
      tag: 'docks',
      roles: ['csr'],
      produces: 'text/event-stream',
    },
    (_i, req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (status: DockStatus) => res.write(`event: status\ndata: ${JSON.stringify(status)}\n\n`);
      for (const status of dock.status()) send(status);
      dock.on('status', send);
      // A comment line now and then keeps proxies from closing a quiet stream.
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.on('close', () => {
        clearInterval(keepAlive);
        dock.off('status', send);
      });
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/dock/commands',
      summary: 'Commands queued for hand-helds and what became of them',
      tag: 'docks',
      roles: ['csr'],
      query: pageQuery.extend({ device: deviceId.optional() }),
    },
    async ({ query }, _req, res) => ({
      items: await recentCommands(res.locals.ctx!.store.db, {
        deviceId: query.device,
        limit: query.limit,
        offset: query.offset,
      }),
      limit: query.limit,
      offset: query.offset,
    }),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/dock/assign',
      summary: 'Assign a route to a hand-held (loaded when it next docks)',
      tag: 'docks',
      roles: ['csr'],
      body: z.strictObject({ route: routeCode, device: deviceId }),
      status: 201,
    },
    ({ body }, _req, res) =>
      assignRoute(res.locals.ctx!, {
        routeCode: body.route,
        deviceId: body.device,
        actor: actorOf(res.locals.principal),
      }),
  );

  const code = z.object({ code: routeCode });
  registry.route(
    r,
    {
      method: 'post',
      path: '/routes/:code/reload',
      summary: 'Re-load a route on a hand-held, with a reason',
      tag: 'docks',
      roles: ['csr'],
      params: code,
      body: z.strictObject({ device: deviceId, reason }),
      status: 201,
    },
    ({ params, body }, _req, res) =>
      reloadRoute(res.locals.ctx!, {
        routeCode: params.code,
        deviceId: body.device,
        reason: body.reason,
        actor: actorOf(res.locals.principal),
      }),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/routes/:code/clear',
      summary: 'Clear a route from its hand-held, with a reason',
      tag: 'docks',
      roles: ['csr'],
      params: code,
      body: z.strictObject({ reason }),
      status: 201,
    },
    ({ params, body }, _req, res) =>
      clearRoute(res.locals.ctx!, {
        routeCode: params.code,
        reason: body.reason,
        actor: actorOf(res.locals.principal),
      }),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/devices',
      summary: 'Hand-helds the gateway has seen',
      tag: 'docks',
      roles: ['csr'],
      query: pageQuery,
    },
    async ({ query }, _req, res) => pageOf(await listDevices(res.locals.ctx!.store.db), query),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/devices/:id/approve',
      summary: 'Approve a new hand-held',
      tag: 'docks',
      roles: [],
      params: z.object({ id: deviceId }),
    },
    async ({ params }, _req, res) => {
      if ((await setDeviceApproved(res.locals.ctx!.store.db, params.id, true)) === 0)
        throw new NotFoundError('device', params.id);
      return { device: params.id, approved: true };
    },
  );
  return r;
}
