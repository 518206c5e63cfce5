import express from 'express';
import { z } from 'zod';
import { assignRoute, clearRoute, reloadRoute } from '../dock/dock-commands.js';
import type { DockService, DockStatus } from '../dock/dock-service.js';
import { NotFoundError } from '../errors.js';
import { listDevices, recentCommands, setDeviceApproved } from '../store/dock-repo.js';
import { actorOf, allow } from './auth.js';

/**
 * Docks for the CSR: live status of every port, transfer progress as server-sent events, the
 * devices the gateway has seen (an admin approves new ones), and the commands that assign,
 * re-load or clear routes, each with who asked and why.
 */
const deviceId = z.string().min(1).max(32);
const routeCode = z.string().min(1).max(20);
const reason = z.string().trim().min(1, 'a reason is required; it is recorded with the route').max(500);

export function dockRouter(dock: DockService): express.Router {
  const r = express.Router();

  r.get('/dock', allow('csr'), (_req, res) => {
    res.json({ items: dock.status() });
  });

  r.get('/dock/events', allow('csr'), (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (status: DockStatus) => res.write(`event: status\ndata: ${JSON.stringify(status)}\n\n`);
    for (const status of dock.status()) send(status);
    dock.on('status', send);
    // A comment line now and then keeps proxies from closing a quiet stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      dock.off('status', send);
    });
  });

  r.get('/dock/commands', allow('csr'), async (req, res) => {
    const q = z.object({ device: deviceId.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }).parse(req.query);
    res.json({ items: await recentCommands(res.locals.ctx!.store.db, { deviceId: q.device, limit: q.limit }) });
  });

  r.post('/dock/assign', allow('csr'), async (req, res) => {
    const body = z.strictObject({ route: routeCode, device: deviceId }).parse(req.body ?? {});
    res.status(201).json(await assignRoute(res.locals.ctx!, { routeCode: body.route, deviceId: body.device, actor: actorOf(res.locals.principal) }));
  });

  r.post('/routes/:code/reload', allow('csr'), async (req, res) => {
    const body = z.strictObject({ device: deviceId, reason }).parse(req.body ?? {});
    res.status(201).json(await reloadRoute(res.locals.ctx!, { routeCode: routeCode.parse(req.params.code), deviceId: body.device, reason: body.reason, actor: actorOf(res.locals.principal) }));
  });

  r.post('/routes/:code/clear', allow('csr'), async (req, res) => {
    const body = z.strictObject({ reason }).parse(req.body ?? {});
    res.status(201).json(await clearRoute(res.locals.ctx!, { routeCode: routeCode.parse(req.params.code), reason: body.reason, actor: actorOf(res.locals.principal) }));
  });

  r.get('/devices', allow('csr'), async (_req, res) => {
    res.json({ items: await listDevices(res.locals.ctx!.store.db) });
  });

  r.post('/devices/:id/approve', allow('admin'), async (req, res) => {
    const id = deviceId.parse(req.params.id);
    if ((await setDeviceApproved(res.locals.ctx!.store.db, id, true)) === 0) throw new NotFoundError('device', id);
    res.json({ device: id, approved: true });
  });

  return r;
}
