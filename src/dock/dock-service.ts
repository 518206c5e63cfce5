import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { DockPort, type DockHandler } from '../../adapters/handheld-serial/dock-port.js';
import { DeviceRefusedError, type GatewaySession, type TransferProgress } from '../../adapters/handheld-serial/gateway-session.js';
import type { Hello } from '../../adapters/handheld-serial/codec/messages.js';
import { ReplyTimeoutError } from '../../adapters/handheld-serial/inbox.js';
import type { Transport } from '../../adapters/handheld-serial/transport.js';
import type { GatewayContext } from '../app/context.js';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { fileLineSource } from '../readings/file-source.js';
import { importReadings, type ImportSummary } from '../readings/import-readings.js';
import { finishCommand, noteCommand, pendingCommands, recordDeviceSeen, type DockCommandRow } from '../store/dock-repo.js';
import { applyRouteEvent, findRoute, latestRoute, recordCommandLoad, type RouteRow } from '../store/routes-repo.js';
import { bumpVersion } from '../store/change-counters.js';
import { LoadFiles } from './load-files.js';
import { TransferTracker, type TransferStatus } from './transfer-progress.js';
import { sha256OfFile, UploadSpool } from './upload-spool.js';
import type { RouteFileBuild } from '../routes/export-route.js';

/**
 * The gateway's docks: one DockPort per configured port, and what a docked hand-held's session
 * does with the store (dock-protocol.md, "Session" and "Expectations on the gateway"):
 * unload the readings it holds (stored through the same import as readings files, CLEAR only
 * after the commit), take routes off it that a CSR cleared, then load the routes assigned to it,
 * and wait docked for more. Status and live progress are published for the CLI, API and SSE.
 */
type HeldRoute = Hello['routes'][number];

export interface DockStatus {
  name: string;
  port: string;
  phase: DockPort['phase'];
  detail: string;
  since: string;
  device: { id: string; model: string | null; firmware: string | null; battery: number | null; clockSkewSeconds: number | null; session: string; dockedAt: string } | null;
  routes: { route: string; cycle: string | null; records: number; read: number; state: string }[];
  transfer: TransferStatus | null;
  /** The last thing that happened on this dock, in words. */
  last: string | null;
  counters: DockPort['counters'];
}

export interface DockEvents {
  status: [DockStatus];
}

interface PortState {
  port: DockPort;
  status: DockStatus;
  tracker: TransferTracker | null;
  lastEmit: number;
}

const EMIT_EVERY_MS = 250;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export class DockService extends EventEmitter<DockEvents> implements DockHandler {
  private readonly ports: PortState[] = [];
  private readonly spool: UploadSpool;
  private readonly loadFiles: LoadFiles;
  private readonly log: Logger;
  /** Load commands waiting for billing to come back (warned once each). */
  private readonly waitingForBilling = new Set<number>();

  constructor(
    private readonly ctx: GatewayContext,
    opts: { openTransport?: (port: string, baudRate: number) => Transport } = {},
  ) {
    super();
    this.log = ctx.log.child({ module: 'dock' });
    const dir = path.resolve(ctx.config.dataDir, 'dock');
    this.spool = new UploadSpool(path.join(dir, 'incoming'));
    this.loadFiles = new LoadFiles(path.join(dir, 'outgoing'));
    const cfg = ctx.config.dock;
    cfg.ports.forEach((p, i) => {
      const name = p.name ?? `dock${i + 1}`;
      const port = new DockPort(
        {
          name, port: p.path, baudRate: p.baudRate, maxFrame: cfg.maxFrame, window: cfg.window, ackTimeoutMs: cfg.ackTimeoutMs, pingAfterMs: cfg.pingAfterMs,
          replyTimeoutMs: cfg.replyTimeoutMs, reopenMinMs: cfg.reopenMinMs, reopenMaxMs: cfg.reopenMaxMs, openTransport: opts.openTransport,
        },
        this,
      );
      const state: PortState = {
        port, tracker: null, lastEmit: 0,
        status: { name, port: p.path, phase: port.phase, detail: port.detail, since: port.since, device: null, routes: [], transfer: null, last: null, counters: port.counters },
      };
      this.ports.push(state);
      port.on('phase', (phase, detail) => {
        Object.assign(state.status, { phase, detail, since: port.since });
        if (phase !== 'docked') Object.assign(state.status, { device: null, routes: [], transfer: null });
        this.log.info(`dock ${name}: ${detail}`, { port: name });
        this.publish(state, true);
      });
      port.on('lost', (reason, deviceId) => {
        this.log.warn(`dock ${name}: link to ${deviceId} lost: ${reason}`, { port: name, device: deviceId });
        this.note(state, `link to ${deviceId} lost: ${reason}`);
      });
      port.on('refused', (hello, code, message) => {
        this.log.warn(`dock ${name}: refused ${hello?.device ?? 'a device'}: ${code} ${message}`, { port: name, device: hello?.device, code });
        this.note(state, `refused ${hello?.device ?? 'a device'}: ${message}`);
      });
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.port.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.port.stop()));
  }

  status(): DockStatus[] {
    return this.ports.map((p) => ({ ...p.status, counters: { ...p.port.counters } }));
  }

  health(): { ok: boolean; detail: string } {
    const degraded = this.ports.filter((p) => p.port.health().state === 'degraded');
    return { ok: degraded.length === 0, detail: degraded.length ? degraded.map((p) => p.port.health().detail).join('; ') : `${this.ports.length} dock port(s) open` };
  }

  // DockHandler: called by the ports.

  async admit(hello: Hello, port: DockPort): Promise<{ code: string; message: string } | null> {
    const device = await recordDeviceSeen(this.ctx.store.db, hello, { now: this.ctx.clock().toISOString(), approve: this.ctx.config.dock.approveAllDevices });
    if (device.approved) return null;
    this.log.warn(`device ${hello.device} on ${port.name} is waiting for approval`, { device: hello.device });
    return { code: 'UNKNOWN_DEVICE', message: `device ${hello.device} is not approved on this gateway; ask an administrator to approve it` };
  }

  async run(session: GatewaySession, port: DockPort): Promise<void> {
    const state = this.ports.find((p) => p.port === port)!;
    const hello = session.hello;
    const log = this.log.child({ port: port.name, device: hello.device, session: session.opts.sessionId });
    const now = this.ctx.clock();
    state.status.device = {
      id: hello.device, model: hello.model ?? null, firmware: hello.fw ?? null, battery: hello.battery ?? null, session: session.opts.sessionId, dockedAt: now.toISOString(),
      clockSkewSeconds: hello.clock && !Number.isNaN(Date.parse(hello.clock)) ? Math.round((Date.parse(hello.clock) - now.getTime()) / 1000) : null,
    };
    state.status.routes = await Promise.all(hello.routes.map(async (r) => ({ route: r.route, cycle: r.cycle ?? null, records: r.records, read: r.read ?? 0, state: await this.storeState(r) })));
    log.info(`${hello.device} docked: battery ${hello.battery ?? '?'}%, ${hello.routes.length} route(s) on board, maxFrame ${session.opts.maxFrame}, window ${session.opts.window}`);
    this.note(state, `${hello.device} docked`);

    await this.recordClearsNotRecorded(session.deviceId, hello.routes, log);
    await this.recordLoadsNotRecorded(session.deviceId, hello.routes, log);
    // What the device holds as this session goes on: what it said in HELLO, plus what it loads now.
    const held = new Map(hello.routes.map((r) => [r.route, r]));
    for (const route of [...held.values()]) {
      await this.handleHeldRoute(state, session, route, log);
      held.delete(route.route);
    }
    for (;;) {
      for (const loaded of await this.runLoads(state, session, log)) held.set(loaded.route, loaded);
      // A CSR may take a route off a device while it sits in the dock.
      for (const cmd of await pendingCommands(this.ctx.store.db, { deviceId: session.deviceId, command: 'clear' })) {
        const route = held.get(cmd.route_code);
        if (!route) continue;
        await this.handleHeldRoute(state, session, route, log);
        held.delete(cmd.route_code);
      }
      try {
        await session.idle(this.ctx.config.dock.pollMs);
      } catch (err) {
        if (!(err instanceof ReplyTimeoutError)) throw err;
      }
    }
  }

  private async storeState(r: HeldRoute): Promise<string> {
    const route = await this.routeFor(r.route, r.cycle);
    return route ? route.state : 'unknown to the gateway';
  }

  private async routeFor(code: string, cycle: string | undefined): Promise<RouteRow | undefined> {
    return cycle ? findRoute(this.ctx.store.db, code, cycle) : latestRoute(this.ctx.store.db, code);
  }

  /** A route the device holds: unload its readings, or take it off when a CSR asked to. */
  private async handleHeldRoute(state: PortState, session: GatewaySession, held: HeldRoute, log: Logger): Promise<void> {
    const db = this.ctx.store.db;
    const clearCmd = (await pendingCommands(db, { deviceId: session.deviceId, routeCode: held.route, command: 'clear' }))[0];
    if ((held.read ?? 0) > 0) {
      await this.unloadAndClear(state, session, held, clearCmd, log);
    } else if (clearCmd) {
      await session.clear(held.route, held.sha256);
      await this.afterCleared(session.deviceId, held, clearCmd, `${clearCmd.reason ?? 'cleared by a CSR'}`);
      this.note(state, `route ${held.route} cleared from ${session.deviceId} (nothing read): ${clearCmd.reason}`, held.route);
    }
  }

  private async unloadAndClear(state: PortState, session: GatewaySession, held: HeldRoute, clearCmd: DockCommandRow | undefined, log: Logger): Promise<void> {
    const device = session.deviceId;
    const layout = this.ctx.layout(this.ctx.config.layouts.read);
    let kept = await this.spool.keptBytes(device, held.route, held.sha256);
    for (let attempt = 1; ; attempt++) {
      const file = await this.spool.open(device, held.route, held.sha256, kept);
      const fromOffset = kept;
      state.tracker = null;
      let info;
      try {
        ({ info } = await session.unload(
          held.route,
          fromOffset,
          file,
          // A kept prefix is only good for the very file it came from.
          (i) => fromOffset === 0 || i.sha256 === held.sha256,
          (p) => this.progress(state, p, layout.lineLength + layout.lineEnding.length),
        ));
      } finally {
        await file.close();
      }
      const complete = file.bytes === info.bytes && (await sha256OfFile(file.path)) === info.sha256;
      if (complete) break;
      await this.spool.discard(device, held.route);
      if (attempt >= 2) throw new AppError('UNLOAD_HASH', `readings of ${held.route} from ${device} did not match their hash twice; kept on the device`);
      log.warn(`readings of ${held.route} from ${device} did not match their announced size/hash; unloading again from the start`);
      kept = 0;
    }
    state.tracker = null;
    state.status.transfer = null;
    const source = await fileLineSource(this.spool.pathOf(device, held.route, held.sha256));
    let summary: ImportSummary;
    try {
      summary = await importReadings(this.ctx, source, { source: 'dock', actor: `dock:${device}`, route: { code: held.route, cycle: held.cycle } });
    } catch (err) {
      // Not stored: the device keeps its readings (no CLEAR) and the file stays spooled for the next dock.
      log.error(`readings of ${held.route} from ${device} could not be stored: ${errorMessage(err)}; kept on the device`);
      this.note(state, `readings of ${held.route} not stored (${errorMessage(err)}); kept on ${device}`, held.route);
      return;
    }
    const stored = summary.duplicateOf
      ? `already stored (batch ${summary.duplicateOf})`
      : `${summary.stored} stored, ${summary.held} held, ${summary.skipped} skipped, ${summary.rejected} rejected, ${summary.exceptions} exception(s)`;
    log.info(`readings of ${held.route} from ${device}: ${summary.lines} lines, ${stored}`, { batch: summary.batchId });
    this.note(state, `readings of ${held.route} committed: ${stored}`, held.route, summary.route?.state);
    await session.clear(held.route, held.sha256);
    await this.afterCleared(device, held, clearCmd, clearCmd?.reason ?? undefined);
    await this.spool.discard(device, held.route);
    this.note(state, `route ${held.route} cleared from ${device}`, held.route, 'cleared');
  }

  /**
   * Committed routes of this device that it no longer holds: it obeyed a CLEAR whose recording did
   * not happen (the store went down, the cable came out between the two). Their readings are
   * committed, so the clear is recorded now. Fault suite finding: such a route stayed "committed"
   * on the device for good, its spooled file kept.
   */
  private async recordClearsNotRecorded(deviceId: string, onDevice: readonly HeldRoute[], log: Logger): Promise<void> {
    const db = this.ctx.store.db;
    const committed = (await db('routes').where({ device_id: deviceId, state: 'committed' })) as RouteRow[];
    for (const route of committed) {
      if (onDevice.some((r) => r.route === route.route_code && (!r.cycle || r.cycle === route.cycle))) continue;
      const now = this.ctx.clock().toISOString();
      await db.transaction((trx) => applyRouteEvent(trx, route, 'clear', { actor: `dock:${deviceId}`, now, deviceId }));
      await this.spool.discard(deviceId, route.route_code);
      log.info(`route ${route.route_code} (${route.cycle}) was committed and ${deviceId} no longer holds it: recorded as cleared`);
    }
  }

  /**
   * Routes the device holds that this gateway sent it but did not get to record (killed between the
   * device's LOAD_OK and the commit): the load is recorded now, so their readings can be taken.
   * Fault suite finding: the readings were refused as "not exported" and the load command failed
   * with ROUTE_PRESENT, leaving the route stuck on the device.
   */
  private async recordLoadsNotRecorded(deviceId: string, onDevice: readonly HeldRoute[], log: Logger): Promise<void> {
    const db = this.ctx.store.db;
    for (const held of onDevice) {
      if (!held.cycle || (await findRoute(db, held.route, held.cycle))) continue;
      const cmd = (await pendingCommands(db, { deviceId, routeCode: held.route, command: 'load' })).find((c) => c.file_sha256);
      if (!cmd) continue;
      const built = await this.loadFiles.prepare(this.ctx, cmd.id, cmd.route_code);
      if (built.cycle !== held.cycle || built.lines.length !== held.records) continue;
      await this.recordLoad(deviceId, cmd, built, `loaded ${built.lines.length} records on ${deviceId} (recorded at its next dock)`);
      log.info(`route ${held.route} (${held.cycle}) is on ${deviceId} as sent, but its load was not recorded: recorded now`, { command: cmd.id });
    }
  }

  private async recordLoad(deviceId: string, cmd: DockCommandRow, built: RouteFileBuild, detail: string): Promise<void> {
    const now = this.ctx.clock().toISOString();
    await this.ctx.store.db.transaction((trx) => recordCommandLoad(trx, cmd, built, deviceId, detail, now));
    await this.loadFiles.discard(cmd.id);
  }

  private async afterCleared(deviceId: string, held: HeldRoute, clearCmd: DockCommandRow | undefined, reason: string | undefined): Promise<void> {
    const now = this.ctx.clock().toISOString();
    await this.ctx.store.db.transaction(async (trx) => {
      const route = held.cycle ? await findRoute(trx, held.route, held.cycle) : undefined;
      if (route && route.device_id === deviceId) {
        if (route.state === 'committed') await applyRouteEvent(trx, route, 'clear', { actor: `dock:${deviceId}`, now, deviceId });
        else await applyRouteEvent(trx, route, 'reset', { actor: clearCmd?.actor ?? `dock:${deviceId}`, now, reason: reason ?? 'cleared from the device', deviceId });
      }
      if (clearCmd) await finishCommand(trx, clearCmd.id, 'done', now, `cleared from ${deviceId}`);
    });
  }

  /** Loads every route assigned to this device; a refusal fails that command, a lost link leaves it for the next dock. */
  private async runLoads(state: PortState, session: GatewaySession, log: Logger): Promise<HeldRoute[]> {
    const db = this.ctx.store.db;
    const loadedNow: HeldRoute[] = [];
    const layout = this.ctx.layout(this.ctx.config.layouts.route);
    for (const cmd of await pendingCommands(db, { deviceId: session.deviceId, command: 'load' })) {
      const fail = async (why: string) => {
        await finishCommand(db, cmd.id, 'failed', this.ctx.clock().toISOString(), why);
        await this.loadFiles.discard(cmd.id);
        log.warn(`load of ${cmd.route_code} on ${session.deviceId} failed: ${why}`, { command: cmd.id });
        this.note(state, `load of ${cmd.route_code} failed: ${why}`, cmd.route_code);
      };
      let built;
      try {
        built = await this.loadFiles.prepare(this.ctx, cmd.id, cmd.route_code);
      } catch (err) {
        // Billing down for a moment is no reason to fail a CSR's assignment (fault suite finding:
        // the load was marked failed and the route never went to the device): tried at the next poll.
        if (err instanceof AppError && err.code === 'BILLING_UNAVAILABLE') {
          if (!this.waitingForBilling.has(cmd.id)) log.warn(`load of ${cmd.route_code} on ${session.deviceId} waits: ${err.message}`, { command: cmd.id });
          this.waitingForBilling.add(cmd.id);
          this.note(state, `load of ${cmd.route_code} waits for billing: ${err.message}`, cmd.route_code);
          continue;
        }
        if (err instanceof AppError) {
          await fail(err.message);
          continue;
        }
        throw err;
      }
      this.waitingForBilling.delete(cmd.id);
      if (!cmd.file_sha256) await noteCommand(db, cmd.id, { file_sha256: built.sha256 });
      const existing = await findRoute(db, built.routeCode, built.cycle);
      if (existing && ['loaded', 'uploaded', 'committed'].includes(existing.state) && existing.device_id !== session.deviceId) {
        await fail(`route ${built.routeCode} (${built.cycle}) is ${existing.state} on ${existing.device_id} since ${existing.loaded_at}; re-load it with a reason to move it`);
        continue;
      }
      let result;
      try {
        result = await session.load(
          { route: built.routeCode, cycle: built.cycle, layout: built.layout, records: built.lines.length, sha256: built.sha256, content: built.content },
          (p) => this.progress(state, p, layout.lineLength + layout.lineEnding.length),
        );
      } catch (err) {
        if (err instanceof DeviceRefusedError) {
          await fail(`${session.deviceId} refused: ${err.code} ${err.message}`);
          continue;
        }
        throw err;
      }
      const resumed = result.fromOffset > 0 ? `, resumed at byte ${result.fromOffset}` : '';
      await this.recordLoad(session.deviceId, cmd, built, `loaded ${result.records} records on ${session.deviceId}${resumed}`);
      state.tracker = null;
      state.status.transfer = null;
      state.status.routes = [...state.status.routes.filter((r) => r.route !== built.routeCode), { route: built.routeCode, cycle: built.cycle, records: result.records, read: 0, state: 'loaded' }];
      log.info(`route ${built.routeCode} (${built.cycle}) loaded on ${session.deviceId}: ${result.records} records${result.fromOffset ? `, resumed at byte ${result.fromOffset}` : ''}`, { command: cmd.id });
      this.note(state, `route ${built.routeCode} loaded: ${result.records} records`, built.routeCode, 'loaded');
      // After the port's status is told: the ledger's change counter must not delay what a CSR sees.
      await bumpVersion(db, 'ledger');
      // Nothing read yet: its readings file is empty, and CLEAR names that empty file's hash.
      loadedNow.push({ route: built.routeCode, cycle: built.cycle, records: result.records, read: 0, bytes: 0, sha256: EMPTY_SHA256 });
    }
    return loadedNow;
  }

  private progress(state: PortState, p: TransferProgress, recordBytes: number): void {
    const now = Date.now();
    if (!state.tracker || state.tracker.status.route !== p.route || state.tracker.status.direction !== p.direction) {
      state.tracker = new TransferTracker({ direction: p.direction, route: p.route, bytesTotal: p.bytesTotal, fromOffset: p.fromOffset }, recordBytes, now);
    }
    state.status.transfer = state.tracker.update(p.bytesDone, p.bytesTotal, now);
    this.publish(state, p.bytesDone >= p.bytesTotal);
  }

  private note(state: PortState, what: string, route?: string, routeState?: string): void {
    state.status.last = `${new Date().toISOString()} ${what}`;
    if (route && routeState) {
      const entry = state.status.routes.find((r) => r.route === route);
      if (entry) entry.state = routeState;
      if (routeState === 'cleared') state.status.routes = state.status.routes.filter((r) => r.route !== route);
    }
    this.publish(state, true);
  }

  private publish(state: PortState, force: boolean): void {
    const now = Date.now();
    if (!force && now - state.lastEmit < EMIT_EVERY_MS) return;
    state.lastEmit = now;
    this.emit('status', { ...state.status, counters: { ...state.port.counters } });
  }
}
