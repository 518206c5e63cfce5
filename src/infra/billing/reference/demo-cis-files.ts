import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { csvRecord, parseCsvRecord } from '../../../core/csv/csv.js';
import { headerIndex, REQUIRED_READ_FIELDS, trailerFields } from '../../../core/csv/cis-layout.js';
import type { CisFileExchange } from '../cis-files/exchange.js';

/**
 * The demo CIS's side of file mode (`fieldgate start --billing-files`): the reference CIS writes a
 * route export for each of its routes, as a CIS's hand-held interface does, and imports the
 * readings files fieldgate writes, checking each file's checksum and trailer as a CIS would: a
 * good file's readings go into its read upload table and the file to cis-imported/; a bad one to
 * rejected/, for fieldgate to report.
 */
export async function writeDemoRouteExports(db: Knex, exchange: CisFileExchange, today: string): Promise<string[]> {
  const spec = exchange.layout.routes;
  const cols = Object.entries(spec.columns) as [string, string][];
  const routes = (await db('cis_routes').select('*').orderBy('route_code')) as Record<string, unknown>[];
  const written: string[] = [];
  for (const route of routes) {
    const code = String(route.route_code);
    const name = `${code}-${today}.csv`;
    const rows = (await db({ mt: 'cis_meters' })
      .join({ ac: 'cis_accounts' }, 'ac.account_no', 'mt.account_no')
      .join({ pr: 'cis_premises' }, 'pr.premise_id', 'mt.premise_id')
      .join({ rg: 'cis_registers' }, 'rg.meter_id', 'mt.meter_id')
      .select(
        'mt.*',
        'ac.customer_name',
        'ac.status as account_status',
        'ac.rate_code',
        'pr.address_line',
        'pr.city',
        'rg.*',
      )
      .where('mt.route_code', code)
      .whereIn('mt.status', ['A'])
      .orderBy(['mt.route_seq', 'mt.meter_id', 'rg.register_no'])) as Record<string, unknown>[];
    const day = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v ?? '')).slice(0, 10);
    const value: Record<string, (r: Record<string, unknown>) => unknown> = {
      route: () => code,
      routeDescription: () => route.description,
      cycle: () => route.cycle_no,
      readDate: () => day(route.next_read_date),
      sequence: (r) => r.route_seq,
      accountNo: (r) => r.account_no,
      customerName: (r) => r.customer_name,
      accountStatus: (r) => r.account_status,
      rateCode: (r) => r.rate_code,
      premiseId: (r) => r.premise_id,
      address: (r) => r.address_line,
      city: (r) => r.city,
      meterId: (r) => r.meter_id,
      serial: (r) => r.serial_no,
      meterType: (r) => r.meter_type,
      dials: (r) => r.dials,
      multiplier: (r) => r.multiplier,
      radioId: (r) => r.radio_id,
      register: (r) => r.register_no,
      uom: (r) => r.uom,
      prevRead: (r) => r.last_read_value,
      prevReadDate: (r) => day(r.last_read_date),
      prevConsumption: () => '',
      location: (r) => r.location_note,
      recordCode: () => 'MR',
    };
    const d = exchange.layout.delimiter;
    const lines = [
      csvRecord(
        cols.map(([, h]) => h),
        d,
      ),
      ...rows.map((r) =>
        csvRecord(
          cols.map(([k]) => (value[k]?.(r) ?? '') as string),
          d,
        ),
      ),
    ];
    if (spec.trailer) lines.push(csvRecord(trailerFields(spec.trailer, { count: rows.length }), d));
    const tmp = path.join(exchange.folder('routes-in'), `.${name}.part`);
    await writeFile(tmp, lines.join(exchange.layout.lineEnding) + exchange.layout.lineEnding);
    await rename(tmp, path.join(exchange.folder('routes-in'), name));
    written.push(name);
  }
  return written;
}

/** Imports every readings file in reads-out/ as the demo CIS; returns what it imported and refused. */
export async function importDemoCisFiles(
  db: Knex,
  exchange: CisFileExchange,
  now: Date,
): Promise<{ imported: string[]; refused: string[] }> {
  const dir = exchange.folder('reads-out');
  const done = path.join(exchange.root, 'cis-imported');
  await mkdir(done, { recursive: true });
  const out = { imported: [] as string[], refused: [] as string[] };
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (n) => !n.startsWith('.') && n.endsWith('.csv'),
  );
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8');
    const sidecar = await readFile(path.join(dir, `${name}.sha256`), 'utf8').catch(() => '');
    const rows = text.split(/\r?\n/).filter((l) => l !== '');
    const sha = createHash('sha256').update(text).digest('hex');
    const spec = exchange.layout.reads;
    const parsed = rows.map((l) => parseCsvRecord(l, exchange.layout.delimiter));
    const fields = parsed.map((p) => (p.ok ? p.fields : []));
    const trailer = fields.at(-1) ?? [];
    const records = fields.slice(1, spec.trailer ? -1 : undefined);
    const { index, missing } = headerIndex(spec.columns, fields[0] ?? [], REQUIRED_READ_FIELDS);
    const ok =
      sidecar.startsWith(sha) &&
      parsed.every((p) => p.ok) &&
      missing.length === 0 &&
      (!spec.trailer || (trailer[0] === spec.trailer.first && Number(trailer[spec.trailer.count]) === records.length));
    if (!ok) {
      await rename(path.join(dir, name), path.join(exchange.folder('rejected'), name));
      out.refused.push(name);
      continue;
    }
    const get = (r: string[], k: keyof typeof index) => (index[k] === undefined ? null : (r[index[k]!] ?? null));
    const batchId = `cis:${name}`;
    await db.transaction(async (trx) => {
      await trx('cis_upload_batch')
        .insert({
          batch_id: batchId,
          kind: 'READS',
          source: 'file',
          row_count: records.length,
          checksum: sha,
          created_at: now,
        })
        .onConflict('batch_id')
        .ignore();
      for (const r of records)
        await trx('cis_read_upload')
          .insert({
            read_key: `${get(r, 'meterId')}|${get(r, 'register')}|${get(r, 'readAt')}`,
            batch_id: batchId,
            meter_id: get(r, 'meterId'),
            register_no: Number(get(r, 'register')),
            read_value: Number(get(r, 'readValue')),
            read_at: new Date(String(get(r, 'readAt'))),
            read_type: get(r, 'readType') || 'A',
            read_source: (get(r, 'source') || 'file').slice(0, 12),
            reader_id: get(r, 'readerId') || null,
            read_method: get(r, 'method') || null,
            read_code: get(r, 'readCode') || null,
            skip_code: get(r, 'skipCode') || null,
            trouble_code: get(r, 'troubleCode') || null,
            note: get(r, 'note') || null,
            received_at: now,
          })
          .onConflict('read_key')
          .ignore();
    });
    await rename(path.join(dir, name), path.join(done, name));
    await rename(path.join(dir, `${name}.sha256`), path.join(done, `${name}.sha256`)).catch(() => undefined);
    out.imported.push(name);
  }
  return out;
}
