/**
 * File mode's pull-routes (issue 22, point 1): every route export the CIS dropped in routes-in/
 * is read against the CIS layout, its good records become the route in the mirror (meters,
 * registers, previous reads, accounts), and each bad record is an exception naming the file,
 * line and field; the good records around it still load. A file without the layout's header,
 * or whose trailer's count is not its records', is moved to routes-failed/ with one exception;
 * a read file goes to routes-done/. From then on the route is like any other: loaded to a
 * hand-held or the field app, read, posted.
 */

import { createReadStream } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseCsvRecord } from '../../core/csv/csv.js';
import {
  headerIndex,
  readOrderRecord,
  readRouteRecord,
  REQUIRED_ORDER_FIELDS,
  REQUIRED_ROUTE_FIELDS,
  type CisRouteRecord,
  type CisServiceOrder,
  type RecordProblem,
} from '../../core/csv/cis-layout.js';
import { FileBilling } from '../../infra/billing/file-billing.js';
import { insertExceptionRows } from '../../infra/store/exceptions-repo.js';
import { LineSplitter } from '../../infra/io/line-splitter.js';
import type { GatewayContext } from '../context.js';

const SOURCE = 'cis-routes';
const MAX_LINE = 4096;
const MAX_FILE_BYTES = 200 * 1024 * 1024;

export interface PullSummary {
  files: number;
  routes: number;
  orders: number;
  records: number;
  rejected: number;
  failedFiles: number;
  refusedByCis: number;
  [key: string]: number;
}

export async function pullRoutes(ctx: GatewayContext): Promise<PullSummary> {
  const summary: PullSummary = {
    files: 0,
    routes: 0,
    orders: 0,
    records: 0,
    rejected: 0,
    failedFiles: 0,
    refusedByCis: 0,
  };
  if (!(ctx.billing instanceof FileBilling)) return summary;
  const billing = ctx.billing;
  // Import files the CIS refused (moved to rejected/): one exception each, naming the batch.
  for (const r of await billing.exchange.newlyRejected(billing.db, ctx.clock())) {
    summary.refusedByCis++;
    await problem(ctx, {
      file: r.file,
      line: null,
      field: 'file',
      value: r.batchId,
      message:
        `the CIS refused this ${r.kind === 'READS' ? 'readings' : 'field-work'} file (batch ${r.batchId}, found in ` +
        `rejected/): see the CIS's import log; the batch stays posted here and is not written again`,
    });
  }
  for (const kind of ['routes', 'orders'] as const) {
    const inbox = billing.exchange.folder(kind === 'routes' ? 'routes-in' : 'orders-in');
    const names = (await readdir(inbox).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
    for (const name of names) {
      const file = path.join(inbox, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      summary.files++;
      const what = kind === 'routes' ? 'route export' : 'service-order export';
      const result =
        info.size > MAX_FILE_BYTES
          ? { failed: `larger than ${MAX_FILE_BYTES} bytes` }
          : kind === 'routes'
            ? await readCisFile(
                ctx,
                file,
                name,
                billing.exchange.layout.routes,
                REQUIRED_ROUTE_FIELDS,
                readRouteRecord,
                'meterId',
              )
            : await readCisFile(ctx, file, name, billing.exchange.layout.orders, REQUIRED_ORDER_FIELDS, (f, i) =>
                readOrderRecord(f, i, ctx.clock().toISOString()),
              );
      if ('failed' in result) {
        summary.failedFiles++;
        await problem(ctx, {
          file: name,
          line: null,
          field: 'file',
          value: '',
          message: `${what} ${name} not read: ${result.failed}`,
        });
        await rename(file, path.join(billing.exchange.folder('routes-failed'), name));
        continue;
      }
      if (kind === 'routes') {
        const byRoute = new Map<string, CisRouteRecord[]>();
        for (const r of result.records as CisRouteRecord[]) byRoute.set(r.route, [...(byRoute.get(r.route) ?? []), r]);
        for (const [route, list] of byRoute) {
          await billing.mirrorRoute(route, list);
          summary.routes++;
        }
      } else {
        await billing.mirrorServiceOrders(result.records as CisServiceOrder[]);
        summary.orders += result.records.length;
      }
      summary.records += result.records.length;
      summary.rejected += result.rejected;
      await rename(file, path.join(billing.exchange.folder('routes-done'), name));
      ctx.log.info(`${what} read`, {
        module: 'cis-files',
        file: name,
        records: result.records.length,
        rejected: result.rejected,
      });
    }
  }
  return summary;
}

async function problem(
  ctx: GatewayContext,
  p: { file: string; line: number | null; field: string; value: string; message: string; meterId?: string },
): Promise<void> {
  await insertExceptionRows(ctx.store.db, [
    {
      source: SOURCE,
      kind: p.field === 'file' ? 'FILE_REJECTED' : 'BAD_FIELD',
      severity: 'reject',
      field: p.field.slice(0, 40),
      value: p.value.slice(0, 100),
      meter_id: p.meterId ?? null,
      line_no: p.line,
      message: `${p.file}${p.line === null ? '' : `, line ${p.line}`}: ${p.message}`.slice(0, 500),
      status: 'open',
      created_at: ctx.clock().toISOString(),
    },
  ]);
}

/** One CIS file read against a section of the layout: its good records, how many it refused, or why it refused it whole. */
async function readCisFile<K extends string, R>(
  ctx: GatewayContext,
  file: string,
  name: string,
  spec: { columns: Partial<Record<K, string>>; trailer: { first: string; count: number } | null },
  required: readonly K[],
  read: (
    fields: readonly string[],
    index: Partial<Record<K, number>>,
    position: number,
  ) => {
    record: R | null;
    problems: RecordProblem[];
  },
  meterColumn?: K,
): Promise<{ records: R[]; rejected: number } | { failed: string }> {
  const layout = (ctx.billing as FileBilling).exchange.layout;
  const records: R[] = [];
  let index: Partial<Record<K, number>> | null = null;
  let failed: string | null = null;
  let position = 0;
  let trailerCount: number | null = null;
  let rejected = 0;
  const problems: Promise<void>[] = [];
  const refuse = (line: number, field: string, value: string, message: string, meterId?: string) => {
    rejected++;
    problems.push(problem(ctx, { file: name, line, field, value, message, meterId }));
  };
  const splitter = new LineSplitter(MAX_LINE, {
    line: (raw, lineNo) => {
      if (failed) return;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (text.trim() === '') return;
      const parsed = parseCsvRecord(text, layout.delimiter);
      if (!parsed.ok) return refuse(lineNo, 'record', text.slice(0, 60), parsed.reason);
      if (index === null) {
        const h = headerIndex(spec.columns, parsed.fields, required);
        if (h.missing.length)
          failed = `its header lacks the layout's columns ${h.missing.join(', ')} (layout ${layout.name})`;
        index = h.index;
        return;
      }
      if (spec.trailer && parsed.fields[0] === spec.trailer.first) {
        trailerCount = Number(parsed.fields[spec.trailer.count]);
        return;
      }
      position++;
      const { record, problems: bad } = read(parsed.fields, index, position);
      if (record) {
        records.push(record);
        return;
      }
      const meter =
        meterColumn === undefined || index[meterColumn] === undefined ? undefined : parsed.fields[index[meterColumn]!];
      refuse(
        lineNo,
        bad[0]!.field,
        bad[0]!.value,
        bad.map((b) => `${b.field}: ${b.message}${b.value ? ` (${b.value})` : ''}`).join('; '),
        meter?.trim() || undefined,
      );
    },
    tooLong: (lineNo, length) => refuse(lineNo, 'record', '', `a line of ${length} characters (at most ${MAX_LINE})`),
  });
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 }))
    splitter.push(chunk as string);
  splitter.end();
  await Promise.all(problems);
  if (failed) return { failed };
  if (index === null) return { failed: 'it is empty' };
  if (spec.trailer && trailerCount === null)
    return { failed: `it has no trailer (${spec.trailer.first},count): cut off?` };
  if (trailerCount !== null && trailerCount !== position)
    return { failed: `its trailer counts ${trailerCount} records and it holds ${position}: cut off or damaged` };
  return { records, rejected };
}
