/**
 * Prometheus metrics at /metrics (an admin token: Prometheus sends it as a bearer token).
 * HTTP latency and this process's MQTT messages are counted as they happen; what the store
 * knows (open exceptions, rows imported, the outbox, job runs) is read when scraped, so every
 * gateway on one store reports the same figures; dock figures come from this gateway's ports.
 */

import express from 'express';
import client from 'prom-client';
import type { GatewayContext } from '../../flows/context.js';
import type { DockService } from '../../flows/dock/dock-service.js';
import { STORE_GAUGES } from '../../infra/store/metrics-repo.js';
import { silentMeterCounts } from '../../infra/store/ami-repo.js';
import type { AmiService } from '../../flows/ami/ami-service.js';
import type { FieldService } from '../../flows/field/field-service.js';
import { allow, authenticate } from './auth.js';

export interface Metrics {
  middleware: express.RequestHandler;
  router: express.Router;
}

export function createMetrics(
  ctx: GatewayContext,
  deps: { dock: DockService; field?: FieldService | null; ami?: Pick<AmiService, 'stuckFiles'> | null },
): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const db = ctx.store.db;
  const registers = [registry];

  const http = new client.Histogram({
    name: 'fieldgate_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  });

  const fromStore = (
    name: string,
    help: string,
    labelNames: string[],
    read: () => Promise<{ labels: Record<string, string>; value: number }[]>,
  ) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const r of await read()) this.set(r.labels, r.value);
      },
    });

  for (const g of STORE_GAUGES) fromStore(g.name, g.help, g.labelNames, () => g.read(db));

  const dockGauge = (name: string, help: string, value: (s: ReturnType<DockService['status']>[number]) => number) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['port'],
      registers,
      collect() {
        this.reset();
        for (const s of deps.dock.status()) this.set({ port: s.name }, value(s));
      },
    });
  dockGauge('fieldgate_dock_link_up', '1 while a device is docked and talking on the port', (s) => (s.device ? 1 : 0));
  dockGauge(
    'fieldgate_dock_frames_resent',
    'Frames resent on the port since it opened (go-back-N)',
    (s) => s.counters.resent,
  );
  new client.Gauge({
    name: 'fieldgate_dock_frames_dropped',
    help: 'Frames dropped on the port since it opened, by reason (CRC, LENGTH, OVERSIZE, GAP, …)',
    labelNames: ['port', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const s of deps.dock.status())
        for (const [reason, n] of Object.entries(s.counters.droppedBy)) this.set({ port: s.name, reason }, n);
    },
  });
  dockGauge('fieldgate_dock_bytes_in', 'Bytes received on the port since it opened', (s) => s.counters.bytesIn);
  dockGauge(
    'fieldgate_dock_transfer_bytes',
    'Bytes moved so far in the transfer in progress',
    (s) => s.transfer?.bytesDone ?? 0,
  );

  new client.Gauge({
    name: 'fieldgate_mqtt_broker_backlog',
    help:
      'Field messages the embedded broker handed the gateway and the gateway has not acknowledged yet (devices ' +
      'wait at mqtt.broker.maxBacklog)',
    registers,
    collect() {
      this.set(deps.field?.broker?.backlogSize ?? 0);
    },
  });
  new client.Gauge({
    name: 'fieldgate_mqtt_messages',
    help: 'MQTT messages this gateway handled since it started, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of deps.field?.messageCounts ?? []) {
        const [kind, outcome] = key.split(' ');
        this.set({ kind: kind!, outcome: outcome! }, n);
      }
    },
  });

  new client.Gauge({
    name: 'fieldgate_mqtt_broker_refusals',
    help: 'Connections, logins and publishes the embedded broker refused since it started, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of deps.field?.broker?.refusals ?? []) this.set({ reason }, n);
    },
  });
  fromStore(
    'fieldgate_ami_silent_meters',
    'AMI meters that reported over more than a day and have not been heard for ami.silentAfterHours, by the source ' +
      'that heard them last',
    ['source'],
    async () => {
      const before = Math.floor(ctx.clock().getTime() / 1000) - ctx.config.ami.silentAfterHours * 3600;
      return (await silentMeterCounts(db, before)).map((r) => ({ labels: { source: r.source }, value: r.n }));
    },
  );
  new client.Gauge({
    name: 'fieldgate_ami_drop_files_stuck',
    help: 'AMI drop files dealt with but left in the inbox because they could not be moved (each is an exception)',
    registers,
    collect() {
      this.set(deps.ami?.stuckFiles ?? 0);
    },
  });

  const middleware: express.RequestHandler = (req, res, next) => {
    const end = http.startTimer();
    res.on('finish', () => {
      // The route's pattern, not the path: /api/work-orders/:orderNo is one series, not one per order.
      const route = req.route?.path ? routePattern(req.originalUrl, String(req.route.path)) : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  const router = express.Router();
  router.get('/metrics', authenticate(db, ctx.clock), allow('admin'), async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  });
  return { middleware, router };
}

/**
 * The full pattern of a matched route: a router's route knows only its own part
 * (/work-orders/:orderNo), and by the time the response is finished express has forgotten
 * where the router was mounted, so the mount prefix is taken from the URL's leading segments.
 */
export function routePattern(originalUrl: string, routePath: string): string {
  const segments = originalUrl.split('?')[0]!.split('/');
  const own = routePath.split('/').length;
  return `${segments.slice(0, Math.max(1, segments.length - own + 1)).join('/')}${routePath}`.replace(/\/{2,}/g, '/');
}
