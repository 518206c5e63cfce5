import path from 'node:path';
import { decodeLine, encodeLine, EncodeError, splitLines } from '../../core/fixed-width/codec.js';
import { utcToLocalDigits } from '../../core/local-time.js';
import { AppError, ConflictError, NotFoundError } from '../../errors.js';
import { keepAttachment, readingOwner, type AttachmentInfo } from '../../infra/store/attachments-repo.js';
import { noteCommand, pendingCommands, type DockCommandRow } from '../../infra/store/dock-repo.js';
import { deviceOfReader, enrolReader } from './reader-device.js';
import { batchByKey } from '../../infra/store/import-batches-repo.js';
import { routeHeldBy, routeLines, routesHeldBy, type RouteRow } from '../../infra/store/routes-repo.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import type { GatewayContext } from '../context.js';
import { bufferLineSource } from '../readings/file-source.js';
import { deviceBatchKey, importReadings, type ImportSummary } from '../readings/import-readings.js';
import { RouteAssignment } from '../routes/route-assignment.js';
import type { RouteFileBuild } from '../routes/export-route.js';
import type { AppBatch, AppReading } from './reader-schemas.js';
import { checkedPhoto } from './photos.js';

/** What the phone downloads: every meter to read, in order, and the codes it may record. */
export interface RouteDownload {
  route: string;
  cycle: string;
  sha256: string;
  scheduledReadDate: string;
  records: Record<string, string | number | null>[];
  codes: { skip: Record<string, string>; trouble: Record<string, string> };
}

/**
 * Meter reading from the field app: a reader's phone is a device to the route assignment, so a
 * CSR assigns it routes as to a hand-held (one holder at a time, the same states and audit).
 * The phone downloads the route, confirms it holds it, and sends readings in named batches that
 * go through the same import as docks and files: stored once per device, batch id and content,
 * answered only after the commit. Register photos are kept with the meter they show.
 */
export class ReaderWork {
  private readonly assignment: RouteAssignment;

  constructor(private readonly ctx: GatewayContext) {
    this.assignment = new RouteAssignment(ctx, path.resolve(ctx.config.dataDir, 'field-app', 'outgoing'));
  }

  /** Routes assigned to the reader and not downloaded yet, and routes their phone holds. */
  async routes(username: string) {
    const db = this.ctx.store.db;
    const device = await enrolReader(this.ctx, username);
    const assigned = (await pendingCommands(db, { deviceId: device, command: 'load' })).map((c) => ({
      route: c.route_code,
      assignedAt: c.created_at,
      by: c.actor,
    }));
    const held = await routesHeldBy(db, device);
    return {
      device,
      assigned,
      held: held.map((r) => ({ route: r.route_code, cycle: r.cycle, state: r.state, loadedAt: r.loaded_at })),
    };
  }

  /** The route file of the reader's assignment, as records: the same bytes every time until they confirm it. */
  async download(username: string, routeCode: string): Promise<RouteDownload> {
    const device = deviceOfReader(username);
    const cmd = await this.assignedLoad(device, routeCode);
    const built = await this.assignment.prepare(cmd);
    // What the confirmation must name: the phone holds these bytes.
    if (!cmd.file_sha256) await noteCommand(this.ctx.store.db, cmd.id, { file_sha256: built.sha256 });
    const layout = this.ctx.layout(built.layout);
    const records = splitLines(built.content.toString('latin1')).map(
      (text, i) => decodeLine(layout, text, i + 1).record,
    );
    const codes = this.ctx.config.codes;
    return {
      route: built.routeCode,
      cycle: built.cycle,
      sha256: built.sha256,
      scheduledReadDate: built.scheduledReadDate,
      records,
      codes: { skip: codes.skip, trouble: codes.trouble },
    };
  }

  /** The phone holds the route (it kept the download): the route is loaded on it. The same confirmation again is done. */
  async confirm(
    username: string,
    routeCode: string,
    sha256: string,
  ): Promise<{ route: string; cycle: string; state: string }> {
    const db = this.ctx.store.db;
    const device = deviceOfReader(username);
    const cmd = (await pendingCommands(db, { deviceId: device, routeCode, command: 'load' })).find(
      (c) => c.file_sha256 === sha256,
    );
    if (cmd) {
      const built = await this.assignment.prepare(cmd);
      await this.recordLoad(device, cmd, built);
      return { route: built.routeCode, cycle: built.cycle, state: 'loaded' };
    }
    const route = await this.heldRoute(device, routeCode);
    if (route.file_sha256 !== sha256)
      throw new ConflictError(
        'ROUTE_NOT_ON_DEVICE',
        `route ${routeCode} on ${device} is another version; download it again`,
        {
          record: routeCode,
          field: 'sha256',
        },
      );
    return { route: route.route_code, cycle: route.cycle, state: route.state };
  }

  /** A batch of readings from the phone: stored once, however often it is sent; the answer comes after the commit. */
  async upload(username: string, batch: AppBatch): Promise<ImportSummary> {
    const db = this.ctx.store.db;
    const device = deviceOfReader(username);
    const layout = this.ctx.layout(this.ctx.config.layouts.read);
    const content = Buffer.from(
      batch.readings.map((r, i) => `${this.readLine(layout, r, username, i)}${layout.lineEnding}`).join(''),
      'latin1',
    );
    const key = deviceBatchKey('app', device, batch.batchId, content);
    // A batch stored already is answered as such, even once its route has moved on.
    if (!(await batchByKey(db, key))) {
      // Readings that overtook the phone's confirmation of the route: it holds the route.
      const unrecorded = await this.assignment.unrecordedLoad(device, batch.route, batch.cycle);
      if (unrecorded) {
        const built = await this.assignment.prepare(unrecorded);
        if (built.cycle === batch.cycle) await this.recordLoad(device, unrecorded, built);
      }
      const route = await this.heldRoute(device, batch.route);
      if (route.cycle !== batch.cycle)
        throw new ConflictError(
          'ROUTE_NOT_ON_DEVICE',
          `route ${batch.route} on ${device} is cycle ${route.cycle}, not ${batch.cycle}`,
          { record: batch.route, field: 'cycle' },
        );
    }
    return importReadings(this.ctx, bufferLineSource(`${device}-${batch.batchId}`, content), {
      source: 'app',
      actor: `reader:${username}`.slice(0, 64),
      route: { code: batch.route, cycle: batch.cycle },
      partial: { final: batch.final },
      idempotencyKey: key,
    });
  }

  /** A photo of a register on a route the reader holds, checked to be an image and kept once. */
  async photo(
    username: string,
    where: { route: string; cycle: string; meter: string; register: number },
    bytes: Buffer,
  ): Promise<{ info: AttachmentInfo; created: boolean }> {
    const db = this.ctx.store.db;
    const device = deviceOfReader(username);
    const route = await this.heldRoute(device, where.route);
    if (route.cycle !== where.cycle) throw new NotFoundError('route cycle', `${where.route} ${where.cycle}`);
    const onRoute = (await routeLines(db, route.id)).some(
      (l) => l.meterId === where.meter && l.register === where.register,
    );
    if (!onRoute) throw new NotFoundError(`meter register on route ${where.route}`, `${where.meter}/${where.register}`);
    return keepAttachment(
      db,
      {
        ...checkedPhoto(bytes, this.ctx.config.fieldApp.photoMaxBytes),
        owner_key: readingOwner(route.id, where.meter, where.register),
        route_id: route.id,
        meter_id: where.meter,
        register: where.register,
        uploaded_by: `reader:${username}`,
        created_at: this.ctx.clock().toISOString(),
      },
      this.ctx.config.fieldApp.maxPhotosPerItem,
    );
  }

  private readLine(layout: ReturnType<GatewayContext['layout']>, r: AppReading, username: string, i: number): string {
    try {
      return encodeLine(
        layout,
        {
          sequence: r.sequence,
          account: r.account,
          meter_id: r.meterId,
          register: r.register,
          reading: r.reading,
          read_at: utcToLocalDigits(new Date(r.readAt), this.ctx.config.timeZone),
          method: r.reading === null ? null : 'K',
          read_code: r.readCode ?? null,
          skip_code: r.skipCode ?? null,
          trouble_code: r.troubleCode ?? null,
          reader_id: username.slice(0, 8).toUpperCase(),
          rekeyed: r.rekeyed ? 'Y' : null,
          lat: r.lat ?? null,
          lon: r.lon ?? null,
          note: r.note ?? null,
        },
        i + 1,
      );
    } catch (err) {
      if (err instanceof EncodeError)
        throw new AppError('INVALID_INPUT', `readings[${i}] (meter ${r.meterId}): ${err.message}`, {
          record: `readings[${i}]`,
          field: err.field,
        });
      throw err;
    }
  }

  /** The phone holds the route of `cmd`: recorded loaded on it, the command done, the ledger told. */
  private async recordLoad(device: string, cmd: DockCommandRow, built: RouteFileBuild): Promise<void> {
    await this.assignment.recordLoad(
      device,
      cmd,
      built,
      `loaded ${built.lines.length} records on ${device} (field app)`,
    );
    await bumpVersion(this.ctx.store.db, 'ledger');
  }

  private async assignedLoad(device: string, routeCode: string) {
    const cmd = (await pendingCommands(this.ctx.store.db, { deviceId: device, routeCode, command: 'load' }))[0];
    if (cmd) return cmd;
    const route = await routeHeldBy(this.ctx.store.db, device, routeCode);
    throw route
      ? new ConflictError(
          'ROUTE_ON_DEVICE',
          `route ${routeCode} is on this phone already (loaded ${route.loaded_at}); a CSR re-loads it to download it again`,
          { record: routeCode },
        )
      : new NotFoundError('route assigned to you', routeCode);
  }

  private async heldRoute(device: string, routeCode: string): Promise<RouteRow> {
    const route = await routeHeldBy(this.ctx.store.db, device, routeCode);
    if (!route)
      throw new ConflictError('ROUTE_NOT_ON_DEVICE', `route ${routeCode} is not on ${device}: download it first`, {
        record: routeCode,
      });
    return route;
  }
}
