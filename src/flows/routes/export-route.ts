/**
 * Billing route → route file. Previous read is the last billed read; high/low limits come from
 * each register's own history. The file is written to a temporary name and renamed only after
 * the store has recorded the load, so a failure leaves neither a half file nor a half state.
 */

import { createHash } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { GatewayContext } from '../context.js';
import { computeLimits } from '../../core/limits.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import { encodeLine } from '../../core/fixed-width/codec.js';
import { AppError, NotFoundError } from '../../errors.js';
import {
  recordRouteLoad,
  type LoadedRouteFile,
  type RouteRow,
  type StoredRouteLine,
} from '../../infra/store/routes-repo.js';

export interface ExportOptions {
  routeCode: string;
  out?: string;
  layout?: string;
  deviceId?: string;
  actor: string;
  reload?: boolean;
  reason?: string;
}

export interface ExportResult {
  route: RouteRow;
  records: number;
  bytes: number;
  sha256: string;
  content: Buffer;
  out: string | null;
}

const DAY_MS = 86_400_000;

/** A route file as billing has it today: its lines, the bytes in a layout, and their hash. */
export interface RouteFileBuild extends LoadedRouteFile {
  content: Buffer;
}

export async function buildRouteFile(
  ctx: GatewayContext,
  routeCode: string,
  layoutName?: string,
): Promise<RouteFileBuild> {
  const layout = ctx.layout(layoutName ?? ctx.config.layouts.route);
  const billingRoute = await ctx.billing.getRoute(routeCode);
  if (!billingRoute) throw new NotFoundError('route', routeCode);
  const cycle = billingRoute.nextReadDate.slice(0, 7);
  const since = new Date(Date.parse(billingRoute.nextReadDate) - 400 * DAY_MS).toISOString().slice(0, 10);
  const registers = await ctx.billing.routeRegisters(routeCode, since);
  if (registers.length === 0)
    throw new AppError('ROUTE_EMPTY', `route ${routeCode} has no active meters in billing`, {
      status: 409,
      record: routeCode,
    });
  const sequence = layout.fields.find((f) => f.name === 'sequence');
  if (sequence && registers.length >= 10 ** sequence.length) {
    throw new AppError(
      'ROUTE_TOO_LARGE',
      `route ${routeCode} has ${registers.length} meter registers; layout ${layout.name} numbers lines with ` +
        `${sequence.length} digits, so a route holds at most ${10 ** sequence.length - 1}: split the route in billing`,
      { status: 409, record: routeCode, field: 'sequence' },
    );
  }

  const lines: StoredRouteLine[] = [];
  const text: string[] = [];
  registers.forEach((reg, i) => {
    const limits = computeLimits(
      {
        prevRead: reg.lastReadValue,
        prevReadDate: reg.lastReadDate,
        scheduledReadDate: billingRoute.nextReadDate,
        dials: reg.dials,
        history: reg.history,
      },
      ctx.config.limits,
    );
    const line: StoredRouteLine = {
      sequence: i + 1,
      account: reg.accountNo,
      meterId: reg.meterId,
      register: reg.registerNo,
      dials: reg.dials,
      prevRead: reg.lastReadValue,
      lowLimit: limits.low,
      highLimit: limits.high,
      meterType: reg.meterType,
      ertId: reg.radioId,
      expectedUnits: limits.expectedUnits,
    };
    lines.push(line);
    text.push(
      encodeLine(
        layout,
        {
          sequence: line.sequence,
          account: reg.accountNo,
          meter_id: reg.meterId,
          meter_serial: reg.serial,
          register: reg.registerNo,
          address: reg.address,
          city: reg.city,
          customer: reg.customerName,
          meter_type: reg.meterType,
          dials: reg.dials,
          prev_read: reg.lastReadValue,
          low_limit: limits.low,
          high_limit: limits.high,
          ert_id: reg.radioId,
          location: reg.location,
        },
        i + 1,
      ) + layout.lineEnding,
    );
  });
  const content = Buffer.from(text.join(''), 'latin1');
  const sha256 = createHash('sha256').update(content).digest('hex');
  return {
    routeCode,
    cycle,
    scheduledReadDate: billingRoute.nextReadDate,
    layout: layout.name,
    lines,
    content,
    sha256,
  };
}

export async function exportRoute(ctx: GatewayContext, opts: ExportOptions): Promise<ExportResult> {
  const built = await buildRouteFile(ctx, opts.routeCode, opts.layout);
  const { cycle, lines, content, sha256 } = built;
  const tmp = opts.out ? `${opts.out}.${process.pid}.tmp` : null;
  if (tmp) await writeFile(tmp, content);
  try {
    const now = ctx.clock().toISOString();
    const route = await ctx.store.db.transaction((trx) =>
      recordRouteLoad(trx, {
        routeCode: opts.routeCode,
        cycle,
        scheduledReadDate: built.scheduledReadDate,
        layout: built.layout,
        sha256,
        bytes: content.length,
        lines,
        deviceId: opts.deviceId ?? 'FILE',
        actor: opts.actor,
        reason: opts.reason,
        reload: opts.reload ?? false,
        now,
      }),
    );
    await bumpVersion(ctx.store.db, 'ledger');
    if (tmp && opts.out) await rename(tmp, opts.out);
    ctx.log.info('route exported', {
      module: 'routes',
      route: opts.routeCode,
      cycle,
      records: lines.length,
      device: route.device_id,
      out: opts.out,
    });
    return { route, records: lines.length, bytes: content.length, sha256, content, out: opts.out ?? null };
  } catch (err) {
    if (tmp) await rm(tmp, { force: true });
    throw err;
  }
}
