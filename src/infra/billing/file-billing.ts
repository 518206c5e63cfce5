import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CisRouteRecord } from '../../core/csv/cis-layout.js';
import { cisLayoutSchema, type CisLayout } from '../../core/csv/cis-layout.js';
import { ConfigError } from '../../errors.js';
import { connect } from '../db/connect.js';
import { resolveResource } from '../config/paths.js';
import type { Config } from '../config/schema.js';
import { Billing, type PostResult } from './billing.js';
import { CisFileExchange } from './cis-files/exchange.js';
import { mirrorRoute } from './cis-files/mirror.js';
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
