import { calendarDay } from '../../core/calendar.js';
import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { MeterDirectory } from '../../flows/ami/meter-directory.js';
import { meterChannels, registerUsage, usageCsv, usageEspi, type UsageRange } from '../../flows/ami/usage.js';
import { NotFoundError } from '../../errors.js';
import type { ApiRegistry } from './openapi.js';
import { METER_ID_MAX } from '../../core/meter-id.js';
import { claimsList, parkedNames } from '../../infra/store/suspense-repo.js';
import { claimMeter } from '../../flows/ami/suspense.js';
import { actorOf } from './auth.js';

/**
 * Usage for a CSR answering a high-bill call, and the customer's own download: a meter's or
 * an account's intervals, days or months with how many were estimated, and exports as Green
 * Button ESPI XML or CSV.
 */
const date = calendarDay;
const rangeQuery = z
  .object({
    from: date,
    to: date,
    grain: z.enum(['interval', 'day', 'month']).default('day'),
    channel: z.coerce.number().int().min(1).max(99).optional(),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 400 * 86_400_000, {
    message: 'at most 400 days at a time',
    path: ['to'],
  });
const exportQuery = z
  .object({ from: date, to: date, format: z.enum(['espi', 'csv']).default('espi') })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export function usageRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const zone = ctx.config.timeZone;
  // Billing's meters, reloaded every 5 minutes rather than per request.
  const units = MeterDirectory.cached(ctx.billing, () => claimsList(ctx.store.db));
  const registersOf = async (meterIds: string[], channel?: number) => {
    const dir = await units();
    const out: { meterId: string; channel: number; unit: string }[] = [];
    for (const meterId of meterIds) {
      for (const ch of channel ? [channel] : await meterChannels(db, meterId)) {
        const reg = dir.find([meterId], ch).register;
        if (reg) out.push({ meterId, channel: ch, unit: reg.uom });
      }
    }
    return out;
  };
  const meterIds = async (kind: 'meters' | 'accounts', id: string) => {
    if (kind === 'meters') {
      if (!(await units()).find([id], 1).meterKnown) throw new NotFoundError('meter', id);
      return [id];
    }
    const ids = await ctx.billing.accountMeters(id);
    if (ids.length === 0) throw new NotFoundError('account', id);
    return ids;
  };

  const target = z.object({ kind: z.enum(['meters', 'accounts']), id: z.string().min(1).max(METER_ID_MAX) });
  registry.route(
    r,
    {
      method: 'get',
      path: '/usage/:kind/:id',
      summary: "A meter's or account's usage by interval, day or month, with estimates counted",
      tag: 'usage',
      roles: ['csr'],
      params: target,
      query: rangeQuery,
    },
    async ({ params, query: q }) => {
      const range: UsageRange = { from: q.from, to: q.to, zone };
      const registers = await registersOf(await meterIds(params.kind, params.id), q.channel);
      const items = [];
      for (const reg of registers)
        items.push({ ...(await registerUsage(db, reg.meterId, reg.channel, range, q.grain)), unit: reg.unit });
      return {
        [params.kind === 'meters' ? 'meterId' : 'accountNo']: params.id,
        from: q.from,
        to: q.to,
        zone,
        grain: q.grain,
        items,
      };
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/usage/:kind/:id/export',
      summary: 'Usage as Green Button ESPI XML or CSV',
      tag: 'usage',
      roles: ['csr'],
      params: target,
      query: exportQuery,
      produces: 'application/atom+xml, text/csv',
    },
    async ({ params, query: q }, _req, res) => {
      const registers = await registersOf(await meterIds(params.kind, params.id));
      const range: UsageRange = { from: q.from, to: q.to, zone };
      const name = `usage-${params.id.replace(/[^\w-]/g, '')}-${q.from}-${q.to}`;
      const chunks =
        q.format === 'csv'
          ? usageCsv(db, registers, range)
          : await usageEspi(db, registers, range, ctx.clock().toISOString());
      res.setHeader(
        'content-type',
        q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/atom+xml; charset=utf-8',
      );
      res.setHeader('content-disposition', `attachment; filename="${name}.${q.format === 'csv' ? 'csv' : 'xml'}"`);
      for await (const c of chunks) if (!res.write(c)) await new Promise((resolve) => res.once('drain', resolve));
      res.end();
    },
  );
  const claim = z.strictObject({
    sourceId: z.string().min(1).max(METER_ID_MAX),
    meterId: z.string().min(1).max(METER_ID_MAX),
  });
  registry.route(
    r,
    {
      method: 'get',
      path: '/ami/suspense',
      summary: 'Meter names billing does not know yet, whose AMI data waits in suspense',
      tag: 'usage',
      roles: ['csr'],
    },
    async () => ({ items: await parkedNames(db, { limit: 1000 }) }),
  );
  registry.route(
    r,
    {
      method: 'post',
      path: '/ami/claims',
      summary: "Name the billing meter a source's meter id belongs to: its parked data is imported now",
      tag: 'usage',
      roles: ['csr'],
      body: claim,
    },
    async ({ body }, _req, res) =>
      claimMeter({ ...ctx, db }, { ref: body.sourceId, meterId: body.meterId, by: actorOf(res.locals.principal) }),
  );
  return r;
}
