/**
 * The gateway's docks: one DockPort per configured port, and what a docked hand-held's session
 * does with the store (dock-protocol.md, "Session" and "Expectations on the gateway"):
 * unload the readings it holds (stored through the same import as readings files, CLEAR only
 * after the commit), take routes off it that a CSR cleared, then load the routes assigned to it,
 * and wait docked for more. Status and live progress are published for the CLI, API and SSE.
 */

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { DockPort, type DockHandler } from '../../../adapters/handheld-serial/dock-port.js';
import { DeviceRefusedError, type GatewaySession } from '../../../adapters/handheld-serial/gateway-session.js';
import type { Hello } from '../../../adapters/handheld-serial/codec/messages.js';
import { ReplyTimeoutError } from '../../../adapters/handheld-serial/inbox.js';
import type { Transport } from '../../../adapters/handheld-serial/transport.js';
import type { GatewayContext } from '../context.js';
import { AppError, errorMessage } from '../../errors.js';
import type { Logger } from '../../infra/log/logger.js';
import { fileLineSource } from '../readings/file-source.js';
import { importReadings, type ImportSummary } from '../readings/import-readings.js';
import {
  finishCommand,
  noteCommand,
  pendingCommands,
  recordDeviceSeen,
  type DockCommandRow,
} from '../../infra/store/dock-repo.js';
import { findRoute, latestRoute, type RouteRow } from '../../infra/store/routes-repo.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import { RouteAssignment } from '../routes/route-assignment.js';
import { PortStatus, type DockStatus } from './port-status.js';
import { DockRecords } from './dock-records.js';
import { sha256OfFile, UploadSpool } from './upload-spool.js';
import { approvesAllDevices } from '../../infra/config/demo.js';
import { HealthTracker, type Component } from '../lifecycle.js';
import type { AdapterHealth } from '../../../adapters/adapter.js';

type HeldRoute = Hello['routes'][number];

export type { DockStatus } from './port-status.js';

export interface DockEvents {
  status: [DockStatus];
}

type PortState = PortStatus;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export class DockService extends EventEmitter<DockEvents> implements DockHandler, Component {
  readonly name = 'docks';
  private readonly ports: PortState[] = [];
  private readonly spool: UploadSpool;
  private readonly assignment: RouteAssignment;
  private readonly records: DockRecords;
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
    this.assignment = new RouteAssignment(ctx, path.join(dir, 'outgoing'));
    this.records = new DockRecords(ctx, this.assignment, this.spool);
    const cfg = ctx.config.dock;
    cfg.ports.forEach((p, i) => {
      const name = p.name ?? `dock${i + 1}`;
      const port = new DockPort(
        {
          name,
          port: p.path,
          baudRate: p.baudRate,
          maxFrame: cfg.maxFrame,
          window: cfg.window,
          ackTimeoutMs: cfg.ackTimeoutMs,
          pingAfterMs: cfg.pingAfterMs,
          replyTimeoutMs: cfg.replyTimeoutMs,
          reopenMinMs: cfg.reopenMinMs,
          reopenMaxMs: cfg.reopenMaxMs,
          zone: ctx.config.timeZone,
          retryAfterSeconds: cfg.retryAfterSeconds,
          openTransport: opts.openTransport,
        },
        this,
      );
      const state = new PortStatus(port, name, p.path, (status) => this.emit('status', status));
      this.ports.push(state);
      port.on('phase', (phase, detail) => {
        this.log.info(`dock ${name}: ${detail}`, { port: name });
        state.phase(phase, detail);
      });
      port.on('lost', (reason, deviceId) => {
        this.log.warn(`dock ${name}: link to ${deviceId} lost: ${reason}`, { port: name, device: deviceId });
        state.note(`link to ${deviceId} lost: ${reason}`);
      });
      port.on('dropped', (reason, detail) =>
        this.log.debug(`dock ${name}: frame dropped (${reason}): ${detail}`, { port: name, reason }),
      );
      port.on('refused', (hello, code, message) => {
        this.log.warn(`dock ${name}: refused ${hello?.device ?? 'a device'}: ${code} ${message}`, {
          port: name,
          device: hello?.device,
          code,
        });
        state.note(`refused ${hello?.device ?? 'a device'}: ${message}`);
      });
    });
  }

  async start(): Promise<void> {
    this.healthState.set('starting', 'opening the dock ports');
    await Promise.all(this.ports.map((p) => p.port.start()));
    this.healthState.set('running', `${this.ports.length} dock port(s) open`);
  }

  async stop(): Promise<void> {
    this.healthState.set('stopping', 'closing the dock ports');
    await Promise.all(this.ports.map((p) => p.port.stop()));
    this.healthState.set('stopped', 'stopped');
  }

  status(): DockStatus[] {
    return this.ports.map((p) => ({
      ...p.status,
      counters: { ...p.port.counters, droppedBy: { ...p.port.counters.droppedBy } },
    }));
  }

  /** Running while every port is; a port waiting to reopen makes it degraded, with the port's reason. */
  health(): AdapterHealth {
    const degraded = this.ports.filter((p) => p.port.health().state === 'degraded');
    if (degraded.length)
      return this.healthState.set('degraded', degraded.map((p) => p.port.health().detail).join('; '));
    const { state } = this.healthState.get();
    return this.healthState.set(state === 'degraded' ? 'running' : state, `${this.ports.length} dock port(s) open`);
  }

  private readonly healthState = new HealthTracker();

  // DockHandler: called by the ports.

  async admit(hello: Hello, port: DockPort): Promise<{ code: string; message: string } | null> {
    const device = await recordDeviceSeen(this.ctx.store.db, hello, {
      now: this.ctx.clock().toISOString(),
      approve: approvesAllDevices(this.ctx.config),
    });
    if (device.approved) return null;
    this.log.warn(`device ${hello.device} on ${port.name} is waiting for approval`, { device: hello.device });
    return {
      code: 'UNKNOWN_DEVICE',
      message: `device ${hello.device} is not approved on this gateway; ask an administrator to approve it`,
    };
  }

  async run(session: GatewaySession, port: DockPort): Promise<void> {
    const state = this.ports.find((p) => p.port === port)!;
    const hello = session.hello;
    const log = this.log.child({ port: port.name, device: hello.device, session: session.opts.sessionId });
    const now = this.ctx.clock();
    state.status.device = {
      id: hello.device,
      model: hello.model ?? null,
      firmware: hello.fw ?? null,
      battery: hello.battery ?? null,
      session: session.opts.sessionId,
      dockedAt: now.toISOString(),
      clockSkewSeconds:
        hello.clock && !Number.isNaN(Date.parse(hello.clock))
          ? Math.round((Date.parse(hello.clock) - now.getTime()) / 1000)
          : null,
    };
    state.status.routes = await Promise.all(
      hello.routes.map(async (r) => ({
        route: r.route,
        cycle: r.cycle ?? null,
        records: r.records,
        read: r.read ?? 0,
        state: await this.storeState(r),
      })),
    );
    log.info(
      `${hello.device} docked: battery ${hello.battery ?? '?'}%, ${hello.routes.length} route(s) on board, maxFrame ` +
        `${session.opts.maxFrame}, window ${session.opts.window}`,
    );
    state.note(`${hello.device} docked`);

    await this.records.clearsNotRecorded(session.deviceId, hello.routes, log);
    await this.records.loadsNotRecorded(session.deviceId, hello.routes, log);
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
      // idle() answers at once with a HOLDING that came during the transfers above.
      let holding: HeldRoute[] | null = null;
      try {
        holding = await session.idle(this.ctx.config.dock.pollMs);
      } catch (err) {
        if (!(err instanceof ReplyTimeoutError)) throw err;
      }
      if (holding) await this.onHolding(state, session, held, holding, log);
    }
  }

  /**
   * The device says what it holds now (HOLDING, revision 2: a route read while it sat in the dock):
   * acted on as HELLO's list is, without a new session. A route with readings is unloaded and cleared.
   */
  private async onHolding(
    state: PortState,
    session: GatewaySession,
    held: Map<string, HeldRoute>,
    holding: HeldRoute[],
    log: Logger,
  ): Promise<void> {
    log.info(
      `${session.deviceId} now holds ${holding.map((r) => `${r.route} (${r.read ?? 0} read)`).join(', ') || 'nothing'}`,
    );
    held.clear();
    for (const r of holding) held.set(r.route, r);
    for (const r of holding) {
      if ((r.read ?? 0) === 0) continue;
      await this.handleHeldRoute(state, session, r, log);
      held.delete(r.route);
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
  private async handleHeldRoute(
    state: PortState,
    session: GatewaySession,
    held: HeldRoute,
    log: Logger,
  ): Promise<void> {
    const db = this.ctx.store.db;
    const clearCmd = (
      await pendingCommands(db, { deviceId: session.deviceId, routeCode: held.route, command: 'clear' })
    )[0];
    if ((held.read ?? 0) > 0) {
      await this.unloadAndClear(state, session, held, clearCmd, log);
    } else if (clearCmd) {
      await session.clear(held.route, held.sha256);
      await this.records.cleared(session.deviceId, held, clearCmd, `${clearCmd.reason ?? 'cleared by a CSR'}`);
      state.note(`route ${held.route} cleared from ${session.deviceId} (nothing read): ${clearCmd.reason}`, held.route);
    }
  }

  private async unloadAndClear(
    state: PortState,
    session: GatewaySession,
    held: HeldRoute,
    clearCmd: DockCommandRow | undefined,
    log: Logger,
  ): Promise<void> {
    const device = session.deviceId;
    const layout = this.ctx.layout(this.ctx.config.layouts.read);
    let kept = await this.spool.keptBytes(device, held.route, held.sha256);
    for (let attempt = 1; ; attempt++) {
      const file = await this.spool.open(device, held.route, held.sha256, kept);
      const fromOffset = kept;
      state.startTransfer();
      let info;
      try {
        ({ info } = await session.unload(
          held.route,
          fromOffset,
          file,
          // A kept prefix is only good for the very file it came from.
          (i) => fromOffset === 0 || i.sha256 === held.sha256,
          (p) => state.progress(p, layout.lineLength + layout.lineEnding.length),
        ));
      } finally {
        await file.close();
      }
      const complete = file.bytes === info.bytes && (await sha256OfFile(file.path)) === info.sha256;
      if (complete) break;
      await this.spool.discard(device, held.route);
      if (attempt >= 2)
        throw new AppError(
          'UNLOAD_HASH',
          `readings of ${held.route} from ${device} did not match their hash twice; kept on the device`,
        );
      log.warn(
        `readings of ${held.route} from ${device} did not match their announced size/hash; unloading again from the ` +
          `start`,
      );
      kept = 0;
    }
    state.endTransfer();
    const source = await fileLineSource(this.spool.pathOf(device, held.route, held.sha256));
    let summary: ImportSummary;
    try {
      summary = await importReadings(this.ctx, source, {
        source: 'dock',
        actor: `dock:${device}`,
        route: { code: held.route, cycle: held.cycle },
      });
    } catch (err) {
      // Not stored: the device keeps its readings (no CLEAR) and the file stays spooled for the next dock.
      log.error(
        `readings of ${held.route} from ${device} could not be stored: ${errorMessage(err)}; kept on the device`,
      );
      state.note(`readings of ${held.route} not stored (${errorMessage(err)}); kept on ${device}`, held.route);
      return;
    }
    const stored = summary.duplicateOf
      ? `already stored (batch ${summary.duplicateOf})`
      : `${summary.stored} stored, ${summary.held} held, ${summary.skipped} skipped, ${summary.rejected} rejected, ` +
        `${summary.exceptions} exception(s)`;
    log.info(`readings of ${held.route} from ${device}: ${summary.lines} lines, ${stored}`, { batch: summary.batchId });
    state.note(`readings of ${held.route} committed: ${stored}`, held.route, summary.route?.state);
    await session.clear(held.route, held.sha256);
    await this.records.cleared(device, held, clearCmd, clearCmd?.reason ?? undefined);
    await this.spool.discard(device, held.route);
    state.note(`route ${held.route} cleared from ${device}`, held.route, 'cleared');
  }

  /**
   * Loads every route assigned to this device; a refusal fails that command, a lost link leaves it for the next dock.
   */
  private async runLoads(state: PortState, session: GatewaySession, log: Logger): Promise<HeldRoute[]> {
    const db = this.ctx.store.db;
    const loadedNow: HeldRoute[] = [];
    const layout = this.ctx.layout(this.ctx.config.layouts.route);
    for (const cmd of await pendingCommands(db, { deviceId: session.deviceId, command: 'load' })) {
      const fail = async (why: string) => {
        // The CSR's status first: whoever sees the command failed in the store sees why on the dock too.
        state.note(`load of ${cmd.route_code} failed: ${why}`, cmd.route_code);
        log.warn(`load of ${cmd.route_code} on ${session.deviceId} failed: ${why}`, { command: cmd.id });
        await finishCommand(db, cmd.id, 'failed', this.ctx.clock().toISOString(), why);
        await this.assignment.discard(cmd);
      };
      let built;
      try {
        built = await this.assignment.prepare(cmd);
      } catch (err) {
        // Billing down for a moment is no reason to fail a CSR's assignment (fault suite finding:
        // the load was marked failed and the route never went to the device): tried at the next poll.
        if (err instanceof AppError && err.code === 'BILLING_UNAVAILABLE') {
          if (!this.waitingForBilling.has(cmd.id))
            log.warn(`load of ${cmd.route_code} on ${session.deviceId} waits: ${err.message}`, { command: cmd.id });
          this.waitingForBilling.add(cmd.id);
          state.note(`load of ${cmd.route_code} waits for billing: ${err.message}`, cmd.route_code);
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
      if (
        existing &&
        ['loaded', 'uploaded', 'committed'].includes(existing.state) &&
        existing.device_id !== session.deviceId
      ) {
        await fail(
          `route ${built.routeCode} (${built.cycle}) is ${existing.state} on ${existing.device_id} since ` +
            `${existing.loaded_at}; re-load it with a reason to move it`,
        );
        continue;
      }
      let result;
      try {
        result = await session.load(
          {
            route: built.routeCode,
            cycle: built.cycle,
            layout: built.layout,
            records: built.lines.length,
            sha256: built.sha256,
            content: built.content,
          },
          (p) => state.progress(p, layout.lineLength + layout.lineEnding.length),
        );
      } catch (err) {
        if (err instanceof DeviceRefusedError) {
          await fail(`${session.deviceId} refused: ${err.code} ${err.message}`);
          continue;
        }
        throw err;
      }
      const resumed = result.fromOffset > 0 ? `, resumed at byte ${result.fromOffset}` : '';
      await this.assignment.recordLoad(
        session.deviceId,
        cmd,
        built,
        `loaded ${result.records} records on ${session.deviceId}${resumed}`,
      );
      state.endTransfer();
      state.status.routes = [
        ...state.status.routes.filter((r) => r.route !== built.routeCode),
        { route: built.routeCode, cycle: built.cycle, records: result.records, read: 0, state: 'loaded' },
      ];
      log.info(
        `route ${built.routeCode} (${built.cycle}) loaded on ${session.deviceId}: ${result.records} ` +
          `records${result.fromOffset ? `, resumed at byte ${result.fromOffset}` : ''}`,
        { command: cmd.id },
      );
      state.note(`route ${built.routeCode} loaded: ${result.records} records`, built.routeCode, 'loaded');
      // After the port's status is told: the ledger's change counter must not delay what a CSR sees.
      await bumpVersion(db, 'ledger');
      // Nothing read yet: its readings file is empty, and CLEAR names that empty file's hash.
      loadedNow.push({
        route: built.routeCode,
        cycle: built.cycle,
        records: result.records,
        read: 0,
        bytes: 0,
        sha256: EMPTY_SHA256,
      });
    }
    return loadedNow;
  }
}
