import { randomUUID } from 'node:crypto';
import express, { type Request } from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../app/context.js';
import { NotFoundError } from '../errors.js';
import { bufferLineSource } from '../readings/file-source.js';
import { importReadings } from '../readings/import-readings.js';
import { exportRoute } from '../routes/export-route.js';
import { recentRuns } from '../store/jobs-repo.js';
import { routeOverview } from '../routes/route-overview.js';
import { describeSchedules } from '../scheduler/scheduler.js';
import type { JobDefinition } from '../scheduler/job.js';
import { actorOf, allow, authenticate } from './auth.js';
import { dockRouter } from './dock-routes.js';
import { usageRouter } from './usage-routes.js';
import { workOrderRouter } from './work-order-routes.js';
import { consoleRouter } from './console.js';
import { createMetrics } from './metrics.js';
import type { FieldService } from '../field/field-service.js';
import type { DockService } from '../dock/dock-service.js';
import { errorHandler } from './http-errors.js';

export interface ApiDeps {
  ctx: GatewayContext;
  jobs: readonly JobDefinition[];
  runJobNow(job: JobDefinition): Promise<unknown>;
  health(): Promise<{ ok: boolean; checks: Record<string, string> }>;
  dock: DockService;
  /** For MQTT message counts on /metrics; absent when MQTT is off (and in tests of the API alone). */
  field?: FieldService | null;
}

const page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** The JSON API. Routes are thin: they validate input with zod and call the services. */
export function createApi(deps: ApiDeps): express.Express {
  const { ctx } = deps;
  const db = ctx.store.db;
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const id = req.get('x-request-id')?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', id);
    res.locals.ctx = { ...ctx, log: ctx.log.child({ requestId: id }) };
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      ctx.log.debug('http', { module: 'api', requestId: id, method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    next();
  });

  const metrics = createMetrics(ctx, { dock: deps.dock, field: deps.field });
  app.use(metrics.middleware);

  app.get('/healthz', async (_req, res) => {
    const health = await deps.health();
    res.status(health.ok ? 200 : 503).json({ status: health.ok ? 'ok' : 'degraded', checks: health.checks });
  });

  // Ready to take work: the databases, and the broker when MQTT is on (a load balancer asks this one).
  app.get('/readyz', async (_req, res) => {
    const { ok, checks } = await deps.health();
    const ready = ok && (checks.mqtt === undefined || checks.mqtt === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.use(metrics.router);

  const api = express.Router();
  api.use(authenticate(db));
  api.use(express.json({ limit: ctx.config.server.bodyLimit }));

  api.get('/routes', allow('csr'), async (_req, res) => {
    res.json({ items: await routeOverview(res.locals.ctx!) });
  });

  api.post('/routes/:code/export', allow('csr'), async (req, res) => {
    const body = z.strictObject({ deviceId: z.string().max(32).optional(), reload: z.boolean().optional(), reason: z.string().max(500).optional() }).parse(req.body ?? {});
    const result = await exportRoute(res.locals.ctx!, { routeCode: String(req.params.code), actor: actorOf(res.locals.principal), ...body });
    res.status(201).json({ route: result.route, records: result.records, bytes: result.bytes, sha256: result.sha256 });
  });

  api.post('/readings/import', allow('csr'), express.raw({ type: () => true, limit: '50mb' }), async (req: Request, res) => {
    const query = z.object({ name: z.string().max(255).default('upload'), route: z.string().max(20).optional(), layout: z.string().max(40).optional() }).parse(req.query);
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const summary = await importReadings(res.locals.ctx!, bufferLineSource(query.name, bytes), {
      source: 'file', actor: actorOf(res.locals.principal), layout: query.layout, route: query.route ? { code: query.route } : undefined,
    });
    res.status(summary.duplicateOf ? 200 : 201).json(summary);
  });

  api.get('/readings', allow('csr'), async (req, res) => {
    const q = page.extend({ route: z.string().max(20).optional(), status: z.enum(['valid', 'held', 'skipped']).optional(), meter: z.string().max(12).optional() }).parse(req.query);
    const query = db('readings').leftJoin('routes', 'routes.id', 'readings.route_id').select('readings.*', 'routes.route_code', 'routes.cycle');
    if (q.route) query.where('routes.route_code', q.route);
    if (q.status) query.where('readings.status', q.status);
    if (q.meter) query.where('readings.meter_id', q.meter);
    res.json({ items: await query.orderBy('readings.id').limit(q.limit).offset(q.offset), limit: q.limit, offset: q.offset });
  });

  api.get('/exceptions', allow('csr'), async (req, res) => {
    const q = page.extend({ status: z.enum(['open', 'resolved']).optional(), kind: z.string().max(30).optional(), route: z.string().max(20).optional(), batch: z.coerce.number().int().optional() }).parse(req.query);
    const query = db('exceptions').leftJoin('routes', 'routes.id', 'exceptions.route_id').select('exceptions.*', 'routes.route_code', 'routes.cycle');
    if (q.status) query.where('exceptions.status', q.status);
    if (q.kind) query.where('exceptions.kind', q.kind);
    if (q.route) query.where('routes.route_code', q.route);
    if (q.batch) query.where('exceptions.batch_id', q.batch);
    res.json({ items: await query.orderBy('exceptions.id').limit(q.limit).offset(q.offset), limit: q.limit, offset: q.offset });
  });

  api.get('/jobs', allow('csr'), async (_req, res) => {
    const schedules = describeSchedules(ctx, deps.jobs);
    const items = await Promise.all(schedules.map(async (s) => ({ ...s, lastRun: (await recentRuns(db, { job: s.name, limit: 1 }))[0] ?? null })));
    res.json({ items });
  });

  api.get('/jobs/runs', allow('csr'), async (req, res) => {
    const q = page.extend({ job: z.string().max(60).optional() }).parse(req.query);
    res.json({ items: await recentRuns(db, q), limit: q.limit, offset: q.offset });
  });

  api.post('/jobs/:name/run', allow('csr'), async (req, res) => {
    const job = deps.jobs.find((j) => j.name === req.params.name);
    if (!job) throw new NotFoundError('job', String(req.params.name));
    res.status(202).json(await deps.runJobNow(job));
  });

  api.use(dockRouter(deps.dock));
  api.use(usageRouter(ctx));
  api.use(workOrderRouter(ctx));
  app.use('/api', api);
  app.use('/console', consoleRouter());
  app.use((_req, _res, next) => next(new NotFoundError('path', _req.path)));
  app.use(errorHandler(ctx.log));
  return app;
}

