import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ExceptionsInsert, ImportBatchesRow, ReadingsInsert } from '../../infra/store/tables.js';
import type { ReadUploadRow } from '../../infra/billing/queries.js';
import type { GatewayContext } from '../context.js';
import { checkRead, findingsFromCodec, severityOf, type Finding, type RouteLine } from '../../core/reading-checks.js';
import { decodeLine } from '../../core/fixed-width/codec.js';
import type { Layout } from '../../core/fixed-width/layout.js';
import { isUniqueViolation } from '../../infra/db/sql-utils.js';
import { AppError, errorMessage } from '../../errors.js';
import { enqueue } from '../../infra/store/outbox-repo.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import {
  batchByKey,
  exceptionCountOfBatch,
  insertBatch,
  setBatchCounts,
} from '../../infra/store/import-batches-repo.js';
import { insertExceptionRows, reclassifyNotOnRoute } from '../../infra/store/exceptions-repo.js';
import { insertReadings, storedReadKeys } from '../../infra/store/readings-repo.js';
import { BILLING_READ, billingReadPayload, cycleMayPost } from './billing-read.js';
import {
  applyRouteEvent,
  findRoute,
  getRouteById,
  latestRoute,
  routeLines,
  routesHoldingMeters,
  type RouteRow,
} from '../../infra/store/routes-repo.js';
import type { LineSource } from './file-source.js';
import { storedMeterId } from '../../core/meter-id.js';

/**
 * Stores a readings file (read-v1 or any read layout) in one transaction. Every good line is
 * stored; every bad one becomes an exception naming line and field; the same file (source +
 * sha256) is stored once however often it arrives. Valid reads go to the outbox for billing.
 */
export { BILLING_READ } from './billing-read.js';

export interface ImportOptions {
  source: 'file' | 'dock' | 'mqtt' | 'app';
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

/**
 * The idempotency key of a batch a device names (MQTT, the field app): the same batch id with the
 * same content is one batch; a batch id reused for other content is another.
 */
export function deviceBatchKey(
  source: ImportOptions['source'],
  deviceId: string,
  batchId: string,
  content: Buffer,
): string {
  const contentSha = createHash('sha256').update(content).digest('hex');
  return `${source}:${createHash('sha256').update(`${deviceId}\n${batchId}\n${contentSha}`).digest('hex')}`;
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
  readings: ReadingsInsert[];
  exceptions: ExceptionsInsert[];
  outbox: { key: string; payload: ReadUploadRow }[];
}

export async function importReadings(
  ctx: GatewayContext,
  src: LineSource,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const db = ctx.store.db;
  const layout = ctx.layout(opts.layout ?? ctx.config.layouts.read);
  const key = opts.idempotencyKey ?? `${opts.source}:${src.sha256}`;
  const earlier = await batchByKey(db, key);
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
  const notOnRoute = new Set<string>();

  try {
    const summary = await db.transaction(async (trx): Promise<ImportSummary> => {
      const batchId = await insertBatch(trx, {
        source: opts.source,
        idempotency_key: key,
        file_name: src.name.slice(0, 255),
        sha256: src.sha256,
        route_id: route?.id ?? null,
        layout: layout.name,
        actor: opts.actor,
        lines: 0,
        stored: 0,
        rejected: 0,
        held: 0,
        skipped: 0,
        created_at: nowIso,
      });
      const counts = { lines: 0, stored: 0, rejected: 0, held: 0, skipped: 0, exceptions: 0 };
      const seen = new Set<string>();
      let chunk: { text: string; no: number }[] = [];

      const flush = async () => {
        const pending = await checkChunk(ctx, trx, chunk, {
          batchId,
          route,
          lineByMeter,
          routeMeters,
          seen,
          layout,
          source: opts.source,
          now,
          postNow,
          notOnRoute,
        });
        counts.stored += pending.readings.length;
        for (const r of pending.readings) {
          if (r.status === 'held') counts.held++;
          if (r.status === 'skipped') counts.skipped++;
        }
        counts.exceptions += pending.exceptions.length;
        counts.rejected += new Set(
          pending.exceptions.filter((e) => e.severity === 'reject').map((e) => e.line_no),
        ).size;
        await insertReadings(trx, pending.readings);
        await insertExceptionRows(trx, pending.exceptions);
        await enqueue(trx, BILLING_READ, pending.outbox, nowIso);
        chunk = [];
        // better-sqlite3 answers synchronously: without a turn of the event loop here, a large
        // upload held the API, the docks and the broker for seconds (security probe: 7 s for 50 MB).
        await new Promise((resolve) => setImmediate(resolve));
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
        await insertExceptionRows(
          trx,
          notRead.map((l) =>
            exceptionRow(batchId, route.id, opts.source, nowIso, null, l.meterId, null, {
              kind: 'NOT_READ',
              field: 'sequence',
              value: String(l.sequence),
              message: `meter ${l.meterId} register ${l.register} on the route has no line in the readings file`,
            }),
          ),
        );
        counts.exceptions += notRead.length;
      }
      if (route && (route.state === 'loaded' || route.state === 'uploaded')) {
        let r: RouteRow = route;
        if (r.state === 'loaded') r = await applyRouteEvent(trx, r, 'upload', { actor: opts.actor, now: nowIso });
        if (!opts.partial || opts.partial.final)
          r = await applyRouteEvent(trx, r, 'commit', { actor: opts.actor, now: nowIso });
        state = r.state;
      }
      await setBatchCounts(trx, batchId, {
        lines: counts.lines,
        stored: counts.stored,
        rejected: counts.rejected,
        held: counts.held,
        skipped: counts.skipped,
      });
      ctx.log.info('readings imported', {
        module: 'import',
        batch: batchId,
        file: src.name,
        route: route?.route_code,
        ...counts,
      });
      return {
        batchId,
        duplicateOf: null,
        route: route ? { code: route.route_code, cycle: route.cycle, state: state ?? route.state } : null,
        ...counts,
      };
    });
    await classifyNotOnRoute(ctx, summary.batchId, route, notOnRoute);
    await bumpVersion(db, 'ledger');
    return summary;
  } catch (err) {
    // Two imports of one file at once: the other committed first, so this one is the duplicate.
    if (isUniqueViolation(err)) {
      const winner = await batchByKey(db, key);
      if (winner) return duplicateSummary(db, winner);
    }
    throw err;
  }
}

async function duplicateSummary(db: Knex, batch: ImportBatchesRow): Promise<ImportSummary> {
  const route = batch.route_id ? await getRouteById(db, batch.route_id) : undefined;
  const exceptions = await exceptionCountOfBatch(db, batch.id);
  return {
    batchId: Number(batch.id),
    duplicateOf: Number(batch.id),
    route: route ? { code: route.route_code, cycle: route.cycle, state: route.state } : null,
    lines: Number(batch.lines),
    stored: 0,
    rejected: 0,
    held: 0,
    skipped: 0,
    exceptions,
  };
}

/** The route a readings file belongs to: given, or the loaded route holding most of its first meters. */
async function resolveRoute(
  ctx: GatewayContext,
  layout: Layout,
  peeked: string[],
  opts: ImportOptions,
): Promise<RouteRow | null> {
  const db = ctx.store.db;
  if (opts.route) {
    const route = opts.route.cycle
      ? await findRoute(db, opts.route.code, opts.route.cycle)
      : await latestRoute(db, opts.route.code);
    if (!route)
      throw new AppError(
        'ROUTE_NOT_FOUND',
        `route ${opts.route.code}${opts.route.cycle ? ` (${opts.route.cycle})` : ''} has not been exported, so its ` +
          `readings cannot be checked`,
        { status: 404, field: 'route' },
      );
    return route;
  }
  const meterIds = peeked
    .map((t, i) => decodeLine(layout, t, i + 1).record.meter_id)
    .filter((m): m is string => typeof m === 'string');
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
  /** Meters of lines on no route line: asked of billing after the commit (never inside the store's transaction). */
  notOnRoute: Set<string>;
}

async function checkChunk(
  ctx: GatewayContext,
  trx: Knex.Transaction,
  chunk: { text: string; no: number }[],
  c: ChunkContext,
): Promise<Pending> {
  const nowIso = c.now.toISOString();
  const routeId = c.route?.id ?? null;
  const out: Pending = { readings: [], exceptions: [], outbox: [] };
  const reject = (
    no: number,
    raw: string,
    meterId: string | null,
    f: Omit<Finding, 'kind'> & { kind: Finding['kind'] },
  ) => out.exceptions.push(exceptionRow(c.batchId, routeId, c.source, nowIso, no, meterId, raw, f));

  const decoded = chunk.map((l) => ({ ...l, d: decodeLine(c.layout, l.text, l.no) }));

  const candidates: {
    no: number;
    text: string;
    meterId: string;
    rec: Record<string, unknown>;
    line: RouteLine;
    findings: Finding[];
    read: NonNullable<ReturnType<typeof checkRead>['read']>;
    key: string;
  }[] = [];
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
      if (c.routeMeters.has(meterId!)) {
        reject(no, text, meterId, {
          kind: 'UNKNOWN_REGISTER',
          field: 'register',
          value: String(register),
          message: `meter ${meterId} has no register ${register} on this route`,
        });
      } else {
        // Told apart from UNKNOWN_METER by billing once the batch is committed (classifyNotOnRoute).
        c.notOnRoute.add(meterId!);
        reject(no, text, meterId, {
          kind: 'METER_NOT_ON_ROUTE',
          field: 'meter_id',
          value: meterId!,
          message: notOnRouteMessage(meterId!, c.route, 'unchecked'),
        });
      }
      continue;
    }
    if (c.seen.has(slot)) {
      reject(no, text, meterId, {
        kind: 'DUPLICATE_LINE',
        field: 'meter_id',
        value: meterId!,
        message: `a second line for meter ${meterId} register ${register} in this file`,
      });
      continue;
    }
    c.seen.add(slot);
    const result = checkRead(d.record, line, { zone: ctx.config.timeZone, codes: ctx.config.codes, now: c.now });
    if (!result.read) {
      for (const f of result.findings) reject(no, text, meterId, f);
      continue;
    }
    const key = `${meterId}|${register}|${result.read.readAtUtc ?? `route${routeId}`}`;
    candidates.push({
      no,
      text,
      meterId: meterId!,
      rec: d.record,
      line,
      findings: result.findings,
      read: result.read,
      key,
    });
  }

  const stored = await storedReadKeys(
    trx,
    candidates.map((r) => r.key),
  );
  for (const cand of candidates) {
    if (stored.has(cand.key)) {
      reject(cand.no, cand.text, cand.meterId, {
        kind: 'DUPLICATE_READ',
        field: 'reading',
        value: String(cand.read.reading ?? ''),
        message: 'this read was stored already from an earlier upload',
      });
      continue;
    }
    stored.add(cand.key);
    const r = cand.rec;
    out.readings.push({
      batch_id: c.batchId,
      route_id: routeId,
      line_no: cand.no,
      sequence: Number(r.sequence),
      account: String(r.account),
      meter_id: cand.meterId,
      register: cand.line.register,
      reading: cand.read.reading,
      read_at: cand.read.readAtUtc,
      method: str(r.method),
      read_code: str(r.read_code),
      skip_code: str(r.skip_code),
      trouble_code: str(r.trouble_code),
      reader_id: str(r.reader_id),
      rekeyed: r.rekeyed === 'Y',
      lat: typeof r.lat === 'number' ? r.lat : null,
      lon: typeof r.lon === 'number' ? r.lon : null,
      note: str(r.note),
      consumption: cand.read.consumption,
      rollover: cand.read.rollover,
      status: cand.read.status,
      read_key: cand.key,
      created_at: nowIso,
    });
    for (const f of cand.findings)
      out.exceptions.push({
        ...exceptionRow(c.batchId, routeId, c.source, nowIso, cand.no, cand.meterId, cand.text, f),
        read_key: cand.key,
      });
    if (c.postNow && cand.read.status === 'valid' && cand.read.reading !== null && cand.read.readAtUtc) {
      const row = out.readings[out.readings.length - 1] as unknown as Parameters<typeof billingReadPayload>[0];
      out.outbox.push({ key: cand.key, payload: billingReadPayload(row, c.source, nowIso) });
    }
  }
  return out;
}

/**
 * Meters of a committed batch that are on no line of its route: billing says whether each exists
 * (then UNKNOWN_METER) and on which route it is, and their exceptions say so. Asked after the
 * commit, so the store's write transaction never waits on billing; billing unreachable leaves
 * them saying it was not checked.
 */
async function classifyNotOnRoute(
  ctx: GatewayContext,
  batchId: number,
  route: RouteRow | null,
  meters: ReadonlySet<string>,
): Promise<void> {
  if (meters.size === 0) return;
  const ids = [...meters];
  const known = new Map<string, { routeCode: string | null }>();
  try {
    for (let i = 0; i < ids.length; i += 1000)
      for (const [id, m] of await ctx.billing.findMeters(ids.slice(i, i + 1000))) known.set(id, m);
  } catch (err) {
    ctx.log.warn('billing unreachable while checking unknown meters', { module: 'import', error: errorMessage(err) });
    return;
  }
  await reclassifyNotOnRoute(
    ctx.store.db,
    batchId,
    ids.map((meterId) => {
      const m = known.get(meterId);
      return m
        ? { meterId, kind: 'METER_NOT_ON_ROUTE', message: notOnRouteMessage(meterId, route, m) }
        : { meterId, kind: 'UNKNOWN_METER', message: `meter ${meterId} is not known to billing` };
    }),
  );
}

function notOnRouteMessage(
  meterId: string,
  route: RouteRow | null,
  billing: { routeCode: string | null } | 'unchecked',
): string {
  const where =
    billing === 'unchecked'
      ? ' (billing unreachable: not checked whether it exists)'
      : billing.routeCode
        ? ` (billing has it on route ${billing.routeCode})`
        : '';
  return `meter ${meterId} is not on ${route ? `route ${route.route_code}` : 'any exported route'}${where}`;
}

/** A decoded field as a nullable string column. */
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

function exceptionRow(
  batchId: number,
  routeId: number | null,
  source: string,
  now: string,
  lineNo: number | null,
  meterId: string | null,
  raw: string | null,
  f: Finding,
): ExceptionsInsert {
  return {
    source,
    batch_id: batchId,
    route_id: routeId,
    read_key: null,
    line_no: lineNo,
    meter_id: meterId == null ? null : storedMeterId(meterId),
    kind: f.kind,
    severity: severityOf(f.kind),
    field: f.field,
    value: f.value.slice(0, 100),
    message: f.message.slice(0, 500),
    raw,
    status: 'open',
    created_at: now,
  };
}
