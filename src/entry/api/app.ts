import { randomUUID } from 'node:crypto';
import express, { type Request } from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../../core/device-id.js';
import type { GatewayContext } from '../../flows/context.js';
import { NotFoundError } from '../../errors.js';
import { bufferLineSource } from '../../flows/readings/file-source.js';
import { importReadings } from '../../flows/readings/import-readings.js';
import { exportRoute } from '../../flows/routes/export-route.js';
import { recentRuns } from '../../infra/store/jobs-repo.js';
import { listReadings } from '../../infra/store/readings-repo.js';
import { routeOverview } from '../../flows/routes/route-overview.js';
import { describeSchedules } from '../../flows/scheduler/scheduler.js';
import type { JobDefinition } from '../../flows/scheduler/job.js';
import { actorOf, authenticate } from './auth.js';
import { ApiRegistry, pageOf, pageQuery } from './openapi.js';
import { loginRouter, sessionRouter } from './session-routes.js';
import { exceptionRouter } from './exception-routes.js';
import { prebillRouter } from './prebill-routes.js';
import { reportRouter } from './report-routes.js';
import { LedgerService } from '../../flows/prebill/ledger-service.js';
import { ROLES } from '../../infra/store/tokens-repo.js';
import { dockRouter } from './dock-routes.js';
import { usageRouter } from './usage-routes.js';
import { accountRouter } from './account-routes.js';
import { portalRegisterRouter, portalRouter } from './portal-routes.js';
import { connectApiRouter, connectPublicRouter } from './connect-routes.js';
import { workOrderRouter } from './work-order-routes.js';
import { consoleRouter } from './console.js';
import { readerRouter } from './reader-routes.js';
import { fieldAppRouter, portalAppRouter, webCommonRouter } from './field-app.js';
import { createMetrics } from './metrics.js';
import type { FieldService } from '../../flows/field/field-service.js';
import type { AmiService } from '../../flows/ami/ami-service.js';
import type { DockService } from '../../flows/dock/dock-service.js';
import { errorHandler } from './http-errors.js';
import { METER_ID_MAX } from '../../core/meter-id.js';

export interface ApiDeps {
  ctx: GatewayContext;
  jobs: readonly JobDefinition[];
  runJobNow(job: JobDefinition): Promise<unknown>;
  health(): Promise<{ ok: boolean; checks: Record<string, string> }>;
  dock: DockService;
  /** For MQTT message counts on /metrics; absent when MQTT is off (and in tests of the API alone). */
  field?: FieldService | null;
  /** For the drop folder's stuck files on /metrics. */
  ami?: AmiService | null;
}

/** The JSON API. Routes are thin: they validate input with zod and call the services. */
export function createApi(deps: ApiDeps): express.Express {
  const { ctx } = deps;
  const db = ctx.store.db;
  const app = express();
  app.disable('x-powered-by');
  // Behind a TLS proxy, client addresses and HTTPS come from its X-Forwarded-* headers (docs/security.md).
  app.set('trust proxy', ctx.config.server.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'blob:', 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      // The console is often plain HTTP on a LAN: telling browsers to insist on HTTPS would lock it out.
      strictTransportSecurity: false,
    }),
  );
  app.use((req, res, next) => {
    const id = req.get('x-request-id')?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', id);
    res.locals.ctx = { ...ctx, log: ctx.log.child({ requestId: id }) };
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      ctx.log.debug('http', {
        module: 'api',
        requestId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  });

  const metrics = createMetrics(ctx, { dock: deps.dock, field: deps.field, ami: deps.ami });
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

  const registry = new ApiRegistry();
  const ledgers = new LedgerService(
    ctx,
    ctx.config.prebill.cacheSeconds * 1000,
    ctx.config.prebill.maxAgeSeconds * 1000,
  );
  const api = express.Router();
  api.use(loginRouter(ctx, registry));
  api.use(portalRegisterRouter(ctx, registry));
  api.use(authenticate(db, ctx.clock));
  // A readings file is the one body that is not JSON.
  api.use('/readings/import', express.raw({ type: () => true, limit: '50mb' }));
  // Photos from the field app: their bytes, capped (the gateway checks what they are).
  const photoBody = express.raw({ type: () => true, limit: ctx.config.fieldApp.photoMaxBytes });
  api.use('/reader/photos', photoBody);
  api.use(/^\/tech\/orders\/[^/]+\/photos$/, photoBody);
  api.use(express.json({ limit: ctx.config.server.bodyLimit }));

  api.use(sessionRouter(ctx, registry));
  registry.route(
    api,
    {
      method: 'get',
      path: '/routes',
      summary: 'Every billing route and its state here for the cycle of its next read date',
      tag: 'routes',
      roles: ['csr'],
      query: pageQuery,
    },
    async ({ query }, _req, res) => pageOf(await routeOverview(res.locals.ctx!), query),
  );

  registry.route(
    api,
    {
      method: 'post',
      path: '/routes/:code/export',
      summary: 'Write the route file from billing and mark the route loaded',
      tag: 'routes',
      roles: ['csr'],
      status: 201,
      params: z.object({ code: z.string().min(1).max(20) }),
      body: z.strictObject({
        deviceId: z.string().regex(DEVICE_ID_PATTERN, DEVICE_ID_RULE).optional(),
        reload: z.boolean().optional(),
        reason: z.string().max(500).optional(),
      }),
    },
    async ({ params, body }, _req, res) => {
      const result = await exportRoute(res.locals.ctx!, {
        routeCode: params.code,
        actor: actorOf(res.locals.principal),
        ...body,
      });
      ledgers.invalidate();
      return { route: result.route, records: result.records, bytes: result.bytes, sha256: result.sha256 };
    },
  );

  const importQuery = z.object({
    name: z.string().max(255).default('upload'),
    route: z.string().max(20).optional(),
    layout: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, 'a layout name such as read-v1')
      .optional(),
  });
  registry.route(
    api,
    {
      method: 'post',
      path: '/readings/import',
      summary: 'Import a readings file (fixed-width, the read layout)',
      tag: 'readings',
      roles: ['csr'],
      query: importQuery,
      rawBody: 'text/plain',
    },
    async ({ query }, req: Request, res) => {
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const summary = await importReadings(res.locals.ctx!, bufferLineSource(query.name, bytes), {
        source: 'file',
        actor: actorOf(res.locals.principal),
        layout: query.layout,
        route: query.route ? { code: query.route } : undefined,
      });
      ledgers.invalidate();
      res.status(summary.duplicateOf ? 200 : 201).json(summary);
    },
  );

  const readingsQuery = pageQuery.extend({
    route: z.string().max(20).optional(),
    status: z.enum(['valid', 'held', 'skipped']).optional(),
    meter: z.string().max(METER_ID_MAX).optional(),
  });
  registry.route(
    api,
    {
      method: 'get',
      path: '/readings',
      summary: 'Stored readings, filtered and paged',
      tag: 'readings',
      roles: ['csr'],
      query: readingsQuery,
    },
    async ({ query: q }) => {
      return {
        items: await listReadings(db, q),
        limit: q.limit,
        offset: q.offset,
      };
    },
  );

  registry.route(
    api,
    {
      method: 'get',
      path: '/jobs',
      summary: "Scheduled jobs and each one's last run",
      tag: 'jobs',
      roles: ['csr'],
      query: pageQuery,
    },
    async ({ query }) => {
      const schedules = describeSchedules(ctx, deps.jobs);
      const items = await Promise.all(
        schedules.map(async (s) => ({ ...s, lastRun: (await recentRuns(db, { job: s.name, limit: 1 }))[0] ?? null })),
      );
      return pageOf(items, query);
    },
  );

  registry.route(
    api,
    {
      method: 'get',
      path: '/jobs/runs',
      summary: 'Job runs, newest first, with counts and errors',
      tag: 'jobs',
      roles: ['csr'],
      query: pageQuery.extend({ job: z.string().max(60).optional() }),
    },
    async ({ query }) => ({
      items: await recentRuns(db, query),
      limit: query.limit,
      offset: query.offset,
    }),
  );

  registry.route(
    api,
    {
      method: 'post',
      path: '/jobs/:name/run',
      summary: 'Run a job now',
      tag: 'jobs',
      roles: ['csr'],
      params: z.object({ name: z.string().min(1).max(60) }),
      status: 202,
    },
    async ({ params }) => {
      const job = deps.jobs.find((j) => j.name === params.name);
      if (!job) throw new NotFoundError('job', params.name);
      const result = await deps.runJobNow(job);
      ledgers.invalidate();
      return result;
    },
  );

  api.use(dockRouter(deps.dock, registry));
  api.use(usageRouter(ctx, registry));
  api.use(accountRouter(ctx, registry));
  api.use(portalRouter(ctx, registry));
  api.use(connectApiRouter(ctx, registry));
  api.use(exceptionRouter(ctx, registry, () => ledgers.invalidate()));
  api.use(workOrderRouter(ctx, registry));
  api.use(readerRouter(ctx, registry, () => ledgers.invalidate()));
  api.use(prebillRouter(registry, ledgers));
  api.use(reportRouter(registry, { ctx, ledger: ledgers }));
  const info = {
    title: 'fieldgate API',
    version: '0.1.0',
    description:
      'Field and meter-reading integration gateway. Every operation needs a bearer token or a console session; ' +
      '`x-roles` lists who may call it.',
  };
  registry.route(
    api,
    { method: 'get', path: '/docs', summary: 'This OpenAPI 3 description', tag: 'docs', roles: [...ROLES] },
    () => registry.document(info),
  );
  app.use('/api', api);
  // The declared operations, for the security tests that walk every one of them.
  app.locals.operations = registry.operations;
  app.use('/console', consoleRouter(db, ctx.clock));
  app.use('/field', fieldAppRouter());
  app.use('/portal', portalAppRouter());
  app.use('/common', webCommonRouter());
  app.use(connectPublicRouter(ctx));
  app.use((_req, _res, next) => next(new NotFoundError('path', _req.path)));
  app.use(errorHandler(ctx.log));
  return app;
}
