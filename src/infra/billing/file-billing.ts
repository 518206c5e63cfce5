import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CisRouteRecord, CisServiceOrder } from '../../core/csv/cis-layout.js';
import { cisLayoutSchema, type CisLayout } from '../../core/csv/cis-layout.js';
import { ConfigError } from '../../errors.js';
import { connect } from '../db/connect.js';
import { resolveResource } from '../config/paths.js';
import type { Config } from '../config/schema.js';
import { Billing, type PostResult } from './billing.js';
import { CisFileExchange, FOLDERS } from './cis-files/exchange.js';
import { parseCsvRecord } from '../../core/csv/csv.js';
import { headerIndex, readRouteRecord, REQUIRED_ROUTE_FIELDS } from '../../core/csv/cis-layout.js';
import { mirrorRoute, mirrorServiceOrders } from './cis-files/mirror.js';
import type { BillingMapping } from './mapping.js';
import type { FieldWorkUploadRow, ReadUploadRow } from './queries.js';

/**
 * Billing through files (billing.mode "files"): the CIS gives fieldgate no database, only its
 * hand-held interface. fieldgate keeps a mirror of the CIS in the reference schema (billing.url),
 * filled from the route exports the CIS drops (pull-routes), and everything else reads billing
 * from it as in database mode. Posting writes the upload batch to the mirror as before, and then
 * the batch's import file for the CIS (src/infra/billing/cis-files/exchange.ts).
 */
export class FileBilling extends Billing {
  constructor(
    db: ReturnType<typeof connect>,
    mapping: BillingMapping,
    readonly exchange: CisFileExchange,
  ) {
    super(db, mapping, null);
  }

  static openFiles(config: Config): FileBilling {
    const files = config.billing.files;
    return new FileBilling(
      connect(config.billing.url),
      config.billing.mapping,
      new CisFileExchange(path.resolve(config.dataDir, files.dir), loadCisLayout(files.layoutsDir, files.layout)),
    );
  }

  override async postReads(rows: readonly ReadUploadRow[], opts: { source: string; now: Date }): Promise<PostResult> {
    const result = await super.postReads(rows, opts);
    // Every batch without its file gets it, this one and any a stopped gateway posted but did not write.
    await this.exchange.writePending(this.db, 'READS', opts.now);
    return result;
  }

  override async postFieldWork(
    rows: readonly FieldWorkUploadRow[],
    opts: { source: string; now: Date },
  ): Promise<PostResult> {
    const result = await super.postFieldWork(rows, opts);
    await this.exchange.writePending(this.db, 'FIELDWORK', opts.now);
    return result;
  }

  /**
   * What `fieldgate billing check` says of file mode: each folder there and writable, the layout
   * read, and the first record of the newest route export read against it.
   */
  async checkFiles(): Promise<{ ok: boolean; lines: string[] }> {
    const lines: string[] = [];
    let ok = true;
    for (const f of FOLDERS) {
      const dir = this.exchange.folder(f);
      const probe = path.join(dir, `.fieldgate-check-${process.pid}`);
      try {
        // Made when missing, as the gateway's start would: what matters is that fieldgate can.
        await mkdir(dir, { recursive: true });
        await writeFile(probe, 'check');
        await rm(probe, { force: true });
        lines.push(`ok    ${f}/ writable (${dir})`);
      } catch (err) {
        ok = false;
        lines.push(`FAIL  ${f}/ not writable: ${(err as Error).message}`);
      }
    }
    const layout = this.exchange.layout;
    lines.push(
      `ok    layout ${layout.name}: ${Object.keys(layout.routes.columns).length} route columns, ` +
        `${Object.keys(layout.reads.columns).length} readings columns`,
    );
    const sample = await newestFile([this.exchange.folder('routes-in'), this.exchange.folder('routes-done')]);
    if (!sample) lines.push('-     no route export yet to read a sample record from (routes-in/, routes-done/)');
    else {
      const text = (await readFile(sample, 'utf8')).split(/\r?\n/);
      const header = parseCsvRecord(text[0] ?? '', layout.delimiter);
      const first = parseCsvRecord(text[1] ?? '', layout.delimiter);
      if (!header.ok || !first.ok) {
        ok = false;
        lines.push(`FAIL  ${path.basename(sample)}: ${header.ok ? '' : header.reason}${first.ok ? '' : first.reason}`);
      } else {
        const { index, missing } = headerIndex(layout.routes.columns, header.fields, REQUIRED_ROUTE_FIELDS);
        const { record, problems } = readRouteRecord(first.fields, index, 1);
        if (missing.length || !record) {
          ok = false;
          lines.push(
            `FAIL  ${path.basename(sample)} line 2: ${missing.length ? `header lacks ${missing.join(', ')}; ` : ''}` +
              problems.map((p) => `${p.field}: ${p.message}`).join('; '),
          );
        } else
          lines.push(
            `ok    ${path.basename(sample)} line 2: route ${record.route}, meter ${record.meterId} register ` +
              `${record.register}, previous read ${record.prevRead} on ${record.prevReadDate}`,
          );
      }
    }
    return { ok, lines };
  }

  /** Service orders from the CIS's order export, into the mirror. */
  async mirrorServiceOrders(orders: readonly CisServiceOrder[]): Promise<void> {
    await this.guard(() => mirrorServiceOrders(this.db, orders));
  }

  /** A route export's records, as the route's whole content, into the mirror. */
  async mirrorRoute(route: string, records: readonly CisRouteRecord[]): Promise<void> {
    await this.guard(() => mirrorRoute(this.db, route, records));
  }
}

export function loadCisLayout(dir: string, name: string): CisLayout {
  const file = path.join(resolveResource(dir), `${name}.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`CIS layout '${name}' cannot be read from ${file}: ${(err as Error).message}`], file);
  }
  const parsed = cisLayoutSchema.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(layout)'}: ${i.message}`),
      file,
    );
  return parsed.data;
}

async function newestFile(dirs: readonly string[]): Promise<string | null> {
  let best: { file: string; at: number } | null = null;
  for (const dir of dirs)
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      const at = (await stat(path.join(dir, name)).catch(() => null))?.mtimeMs ?? 0;
      if (!best || at > best.at) best = { file: path.join(dir, name), at };
    }
  return best?.file ?? null;
}
