import type { Knex } from 'knex';
import type { ReadUploadRow } from '../billing/queries.js';
import type { GatewayContext } from '../app/context.js';
import { checkRead, findingsFromCodec, severityOf, type Finding, type RouteLine } from '../core/reading-checks.js';
import { decodeLine } from '../fixed-width/codec.js';
import type { Layout } from '../fixed-width/layout.js';
import { insertMany, insertReturningId, isUniqueViolation, selectWhereIn } from '../db/sql-utils.js';
import { AppError, errorMessage } from '../errors.js';
import { enqueue } from '../store/outbox-repo.js';
import { bumpVersion } from '../store/change-counters.js';
import { BILLING_READ, billingReadPayload, cycleMayPost } from './billing-read.js';
import { applyRouteEvent, getRouteById, routeLines, routesHoldingMeters, type RouteRow } from '../store/routes-repo.js';
import type { LineSource } from './file-source.js';

/**
 * Stores a readings file (read-v1 or any read layout) in one transaction. Every good line is
 * stored; every bad one becomes an exception naming line and field; the same file (source +
 * sha256) is stored once however often it arrives. Valid reads go to the outbox for billing.
 */
export { BILLING_READ } from './billing-read.js';

export interface ImportOptions {
  source: 'file' | 'dock' | 'mqtt';
  actor: string;
  layout?: string;
  /** Route and cycle when the caller knows them (a dock session); otherwise found from the meters. */
  route?: { code: string; cycle?: string };
  /**
   * One batch of a route being read in the field (MQTT): meters not in it are not "not read",
   * and the route is committed only by the batch marked `final`.
   */
  partial?: { final: boolean };
  /** Replaces `<source>:<sha256>` when the sender names its batches (device + batch id + hash). */
  idempotencyKey?: string;
}

export interface ImportSummary {
  batchId: number;
  duplicateOf: number | null;
  route: { code: string; cycle: string; state: string } | null;
  lines: number;
  stored: number;
  rejected: number;
  held: number;
  skipped: number;
  exceptions: number;
}

const CHUNK = 2000;
const PEEK = 200;

interface Pending {
  readings: Record<string, unknown>[];
  exceptions: Record<string, unknown>[];
  outbox: { key: string; payload: ReadUploadRow }[];
}

export async function importReadings(ctx: GatewayContext, src: LineSource, opts: ImportOptions): Promise<ImportSummary> {
  const db = ctx.store.db;
  const layout = ctx.layout(opts.layout ?? ctx.config.layouts.read);
  const key = opts.idempotencyKey ?? `${opts.source}:${src.sha256}`;
  const earlier = await db('import_batches').where({ idempotency_key: key }).first();
  if (earlier) return duplicateSummary(db, earlier);

  const iterator = src.lines[Symbol.asyncIterator]();
  const peeked: string[] = [];
  for (let i = 0; i < PEEK; i++) {
    const next = await iterator.next();
    if (next.done) break;
    peeked.push(next.value);
  }
  const route = await resolveRoute(ctx, layout, peeked, opts);
  const lines = route ? await routeLines(db, route.id) : [];
  const lineByMeter = new Map(lines.map((l) => [`${l.meterId}|${l.register}`, l]));
  const routeMeters = new Set(lines.map((l) => l.meterId));
  const now = ctx.clock();
  const nowIso = now.toISOString();
  const postNow = await cycleMayPost(db, ctx.config, route?.cycle);

  try {
    const summary = await db.transaction(async (trx): Promise<ImportSummary> => {
      const batchId = await insertReturningId(trx, 'import_batches', {
        source: opts.source, idempotency_key: key, file_name: src.name.slice(0, 255), sha256: src.sha256, route_id: route?.id ?? null,
        layout: layout.name, actor: opts.actor, lines: 0, stored: 0, rejected: 0, held: 0, skipped: 0, created_at: nowIso,
      });
      const counts = { lines: 0, stored: 0, rejected: 0, held: 0, skipped: 0, exceptions: 0 };
      const seen = new Set<string>();
      let chunk: { text: string; no: number }[] = [];

      const flush = async () => {
        const pending = await checkChunk(ctx, trx, chunk, { batchId, route, lineByMeter, routeMeters, seen, layout, source: opts.source, now, postNow });
        counts.stored += pending.readings.length;
        for (const r of pending.readings) {
          if (r.status === 'held') counts.held++;
          if (r.status === 'skipped') counts.skipped++;
        }
        counts.exceptions += pending.exceptions.length;
        counts.rejected += new Set(pending.exceptions.filter((e) => e.severity === 'reject').map((e) => e.line_no)).size;
        await insertMany(trx, 'readings', pending.readings);
        await insertMany(trx, 'exceptions', pending.exceptions);
        await enqueue(trx, BILLING_READ, pending.outbox, nowIso);
        chunk = [];
      };

      const all = (async function* () {
        yield* peeked;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      })();
      for await (const text of all) {
        counts.lines++;
        if (text === '') continue;
        chunk.push({ text, no: counts.lines });
        if (chunk.length >= CHUNK) await flush();
      }
      await flush();

      let state = route?.state ?? null;
      if (route && route.state === 'loaded' && !opts.partial) {
        const notRead = lines.filter((l) => !seen.has(`${l.meterId}|${l.register}`));
        await insertMany(trx, 'exceptions', notRead.map((l) => exceptionRow(batchId, route.id, opts.source, nowIso, null, l.meterId, null, {
          kind: 'NOT_READ', field: 'sequence', value: String(l.sequence), message: `meter ${l.meterId} register ${l.register} on the route has no line in the readings file`,
        })));
        counts.exceptions += notRead.length;
      }
      if (route && (route.state === 'loaded' || route.state === 'uploaded')) {
        let r: RouteRow = route;
        if (r.state === 'loaded') r = await applyRouteEvent(trx, r, 'upload', { actor: opts.actor, now: nowIso });
        if (!opts.partial || opts.partial.final) r = await applyRouteEvent(trx, r, 'commit', { actor: opts.actor, now: nowIso });
        state = r.state;
      }
      await trx('import_batches').where({ id: batchId }).update({ lines: counts.lines, stored: counts.stored, rejected: counts.rejected, held: counts.held, skipped: counts.skipped });
      ctx.log.info('readings imported', { module: 'import', batch: batchId, file: src.name, route: route?.route_code, ...counts });
      return { batchId, duplicateOf: null, route: route ? { code: route.route_code, cycle: route.cycle, state: state ?? route.state } : null, ...counts };
    });
    await bumpVersion(db, 'ledger');
    return summary;
  } catch (err) {
    // Two imports of one file at once: the other committed first, so this one is the duplicate.
    if (isUniqueViolation(err)) {
      const winner = await db('import_batches').where({ idempotency_key: key }).first();
      if (winner) return duplicateSummary(db, winner);
    }
    throw err;
  }
}

async function duplicateSummary(db: Knex, batch: Record<string, unknown>): Promise<ImportSummary> {
  const route = batch.route_id ? await getRouteById(db, Number(batch.route_id)) : undefined;
  const ex = (await db('exceptions').count({ n: '*' }).where({ batch_id: batch.id }).first()) as { n: number };
  return {
    batchId: Number(batch.id), duplicateOf: Number(batch.id),
    route: route ? { code: route.route_code, cycle: route.cycle, state: route.state } : null,
    lines: Number(batch.lines), stored: 0, rejected: 0, held: 0, skipped: 0, exceptions: Number(ex.n),
  };
}

/** The route a readings file belongs to: given, or the loaded route holding most of its first meters. */
async function resolveRoute(ctx: GatewayContext, layout: Layout, peeked: string[], opts: ImportOptions): Promise<RouteRow | null> {
  const db = ctx.store.db;
  if (opts.route) {
    const q = db<RouteRow>('routes').where({ route_code: opts.route.code });
    if (opts.route.cycle) q.andWhere({ cycle: opts.route.cycle });
    const route = await q.orderBy('cycle', 'desc').first();
    if (!route) throw new AppError('ROUTE_NOT_FOUND', `route ${opts.route.code}${opts.route.cycle ? ` (${opts.route.cycle})` : ''} has not been exported, so its readings cannot be checked`, { status: 404, field: 'route' });
    return route;
  }
  const meterIds = peeked.map((t, i) => decodeLine(layout, t, i + 1).record.meter_id).filter((m): m is string => typeof m === 'string');
  const [best] = await routesHoldingMeters(db, meterIds);
  if (!best) return null;
  return (await getRouteById(db, best.route_id)) ?? null;
}

interface ChunkContext {
  batchId: number;
  route: RouteRow | null;
  lineByMeter: Map<string, RouteLine & { meterType: string }>;
  routeMeters: Set<string>;
  seen: Set<string>;
  layout: Layout;
  source: string;
  now: Date;
  /** False while the route's cycle waits for its pre-bill review: the reads are queued at sign-off. */
  postNow: boolean;
}

async function checkChunk(ctx: GatewayContext, trx: Knex.Transaction, chunk: { text: string; no: number }[], c: ChunkContext): Promise<Pending> {
  const nowIso = c.now.toISOString();
  const routeId = c.route?.id ?? null;
  const out: Pending = { readings: [], exceptions: [], outbox: [] };
  const reject = (no: number, raw: string, meterId: string | null, f: Omit<Finding, 'kind'> & { kind: Finding['kind'] }) =>
    out.exceptions.push(exceptionRow(c.batchId, routeId, c.source, nowIso, no, meterId, raw, f));

  const decoded = chunk.map((l) => ({ ...l, d: decodeLine(c.layout, l.text, l.no) }));
  const unmatched = decoded
    .filter((l) => l.d.errors.length === 0 && !c.lineByMeter.has(`${String(l.d.record.meter_id)}|${Number(l.d.record.register)}`))
    .map((l) => String(l.d.record.meter_id));
  let known: Map<string, { routeCode: string | null }> | null = null;
  if (unmatched.length > 0) {
    try {
      known = await ctx.billing.findMeters(unmatched);
    } catch (err) {
      ctx.log.warn('billing unreachable while checking unknown meters', { module: 'import', error: errorMessage(err) });
    }
  }

  const candidates: { no: number; text: string; meterId: string; rec: Record<string, unknown>; line: RouteLine; findings: Finding[]; read: NonNullable<ReturnType<typeof checkRead>['read']>; key: string }[] = [];
  for (const { no, text, d } of decoded) {
    const meterId = typeof d.record.meter_id === 'string' ? d.record.meter_id : null;
    if (d.errors.length > 0) {
      for (const f of findingsFromCodec(d.errors)) reject(no, text, meterId, f);
      continue;
    }
    const register = Number(d.record.register);
    const slot = `${meterId}|${register}`;
    const line = c.lineByMeter.get(slot);
    if (!line) {
      const billingMeter = known?.get(meterId!);
      if (c.routeMeters.has(meterId!)) {
        reject(no, text, meterId, { kind: 'UNKNOWN_REGISTER', field: 'register', value: String(register), message: `meter ${meterId} has no register ${register} on this route` });
      } else if (known && !billingMeter) {
        reject(no, text, meterId, { kind: 'UNKNOWN_METER', field: 'meter_id', value: meterId!, message: `meter ${meterId} is not known to billing` });
      } else {
        const where = billingMeter?.routeCode ? ` (billing has it on route ${billingMeter.routeCode})` : known ? '' : ' (billing unreachable: not checked whether it exists)';
        const on = c.route ? `route ${c.route.route_code}` : 'any exported route';
        reject(no, text, meterId, { kind: 'METER_NOT_ON_ROUTE', field: 'meter_id', value: meterId!, message: `meter ${meterId} is not on ${on}${where}` });
      }
      continue;
    }
    if (c.seen.has(slot)) {
      reject(no, text, meterId, { kind: 'DUPLICATE_LINE', field: 'meter_id', value: meterId!, message: `a second line for meter ${meterId} register ${register} in this file` });
      continue;
    }
    c.seen.add(slot);
    const result = checkRead(d.record, line, { zone: ctx.config.timeZone, codes: ctx.config.codes, now: c.now });
    if (!result.read) {
      for (const f of result.findings) reject(no, text, meterId, f);
      continue;
    }
    const key = `${meterId}|${register}|${result.read.readAtUtc ?? `route${routeId}`}`;
    candidates.push({ no, text, meterId: meterId!, rec: d.record, line, findings: result.findings, read: result.read, key });
  }

  const stored = new Set(
    (await selectWhereIn<{ read_key: string }>(trx, candidates.map((r) => r.key), (part) => trx('readings').select('read_key').whereIn('read_key', part))).map((r) => r.read_key),
  );
  for (const cand of candidates) {
    if (stored.has(cand.key)) {
      reject(cand.no, cand.text, cand.meterId, { kind: 'DUPLICATE_READ', field: 'reading', value: String(cand.read.reading ?? ''), message: 'this read was stored already from an earlier upload' });
      continue;
    }
    stored.add(cand.key);
    const r = cand.rec;
    out.readings.push({
      batch_id: c.batchId, route_id: routeId, line_no: cand.no, sequence: Number(r.sequence), account: String(r.account), meter_id: cand.meterId,
      register: cand.line.register, reading: cand.read.reading, read_at: cand.read.readAtUtc, method: str(r.method), read_code: str(r.read_code),
      skip_code: str(r.skip_code), trouble_code: str(r.trouble_code), reader_id: str(r.reader_id), rekeyed: r.rekeyed === 'Y',
      lat: typeof r.lat === 'number' ? r.lat : null, lon: typeof r.lon === 'number' ? r.lon : null, note: str(r.note),
      consumption: cand.read.consumption, rollover: cand.read.rollover, status: cand.read.status, read_key: cand.key, created_at: nowIso,
    });
    for (const f of cand.findings) out.exceptions.push({ ...exceptionRow(c.batchId, routeId, c.source, nowIso, cand.no, cand.meterId, cand.text, f), read_key: cand.key });
    if (c.postNow && cand.read.status === 'valid' && cand.read.reading !== null && cand.read.readAtUtc) {
      const row = out.readings[out.readings.length - 1] as unknown as Parameters<typeof billingReadPayload>[0];
      out.outbox.push({ key: cand.key, payload: billingReadPayload(row, c.source, nowIso) });
    }
  }
  return out;
}

/** A decoded field as a nullable string column. */
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

function exceptionRow(batchId: number, routeId: number | null, source: string, now: string, lineNo: number | null, meterId: string | null, raw: string | null, f: Finding): Record<string, unknown> {
  return {
    source, batch_id: batchId, route_id: routeId, read_key: null, line_no: lineNo, meter_id: meterId?.slice(0, 12) ?? null, kind: f.kind,
    severity: severityOf(f.kind), field: f.field, value: f.value.slice(0, 100), message: f.message.slice(0, 500), raw, status: 'open', created_at: now,
  };
}
