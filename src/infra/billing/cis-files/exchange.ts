import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { csvRecord } from '../../../core/csv/csv.js';
import { trailerFields, type CisLayout } from '../../../core/csv/cis-layout.js';

/**
 * File mode's folders and the import files fieldgate writes the CIS (docs/billing.md):
 *   routes-in/     the CIS drops its route exports here (pull-routes reads them)
 *   routes-done/   and routes-failed/: where each went once read (service orders too)
 *   orders-in/     the CIS's service-order exports (pull-routes reads them; pull-service-orders makes the orders)
 *   reads-out/     one readings file per upload batch, READS-<batch>.csv with READS-<batch>.csv.sha256
 *   fieldwork-out/ the same for completed field work
 *   rejected/      where the CIS moves an import file it refused (an exception names its batch)
 * A file is written under a temporary name (.part) and renamed when complete, so the CIS never
 * sees half of one; which batches have their file is kept in the mirror (cis_file_exports), so a
 * file the CIS has taken away is never written again.
 */
export const FOLDERS = [
  'routes-in',
  'routes-done',
  'routes-failed',
  'orders-in',
  'reads-out',
  'fieldwork-out',
  'rejected',
] as const;
export type Folder = (typeof FOLDERS)[number];

export class CisFileExchange {
  constructor(
    readonly root: string,
    readonly layout: CisLayout,
  ) {}

  folder(name: Folder): string {
    return path.join(this.root, name);
  }

  async ensureFolders(): Promise<void> {
    for (const f of FOLDERS) await mkdir(this.folder(f), { recursive: true });
  }

  /** Writes the file of every upload batch of this kind that has none yet; returns the files written. */
  async writePending(db: Knex, kind: 'READS' | 'FIELDWORK', now: Date): Promise<string[]> {
    const batches = (await db('cis_upload_batch')
      .leftJoin('cis_file_exports', 'cis_file_exports.batch_id', 'cis_upload_batch.batch_id')
      .select('cis_upload_batch.batch_id')
      .where('cis_upload_batch.kind', kind)
      .whereNull('cis_file_exports.batch_id')
      .orderBy('cis_upload_batch.created_at')) as { batch_id: string }[];
    const written: string[] = [];
    for (const { batch_id: batchId } of batches) written.push(await this.writeBatch(db, kind, batchId, now));
    return written;
  }

  private async writeBatch(db: Knex, kind: 'READS' | 'FIELDWORK', batchId: string, now: Date): Promise<string> {
    const spec = kind === 'READS' ? this.layout.reads : this.layout.fieldwork;
    const rows = (
      kind === 'READS'
        ? await db('cis_read_upload').where({ batch_id: batchId }).orderBy('upload_id')
        : await db('cis_fieldwork_upload').where({ batch_id: batchId }).orderBy('upload_id')
    ) as Record<string, unknown>[];
    const fields = Object.entries(spec.columns) as [string, string][];
    const value = (r: Record<string, unknown>, key: string): string | number | null => {
      const v = r[COLUMN[key] ?? key];
      if (v === null || v === undefined) return key === 'batchId' ? batchId : null;
      return v instanceof Date ? v.toISOString() : (v as string | number);
    };
    const d = this.layout.delimiter;
    const lines = [
      csvRecord(
        fields.map(([, h]) => h),
        d,
      ),
      ...rows.map((r) =>
        csvRecord(
          fields.map(([k]) => value(r, k)),
          d,
        ),
      ),
    ];
    if (spec.trailer) {
      const sumOf = spec.trailer.sumOf;
      const sum = sumOf ? rows.reduce((total, r) => total + Number(value(r, sumOf) ?? 0), 0) : undefined;
      lines.push(csvRecord(trailerFields(spec.trailer, { count: rows.length, sum, batch: batchId }), d));
    }
    const text = lines.join(this.layout.lineEnding) + this.layout.lineEnding;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const name = `${kind}-${batchId.replace(/[^\w.-]/g, '_')}.csv`;
    const dir = this.folder(kind === 'READS' ? 'reads-out' : 'fieldwork-out');
    const part = path.join(dir, `.${name}.part`);
    await writeFile(part, text, { flag: 'w' });
    await writeFile(path.join(dir, `.${name}.sha256.part`), `${sha256}  ${name}\n`);
    // The checksum first: when the data file appears under its name, its sidecar is there.
    await rename(path.join(dir, `.${name}.sha256.part`), path.join(dir, `${name}.sha256`));
    await rename(part, path.join(dir, name));
    await db('cis_file_exports').insert({
      batch_id: batchId,
      kind,
      file: name,
      sha256,
      row_count: rows.length,
      written_at: now.toISOString(),
    });
    return name;
  }

  /** Import files the CIS moved to rejected/ and not yet reported: their batches, marked reported. */
  async newlyRejected(db: Knex, now: Date): Promise<{ file: string; batchId: string; kind: string }[]> {
    let names: string[];
    try {
      names = (await readdir(this.folder('rejected'))).filter((n) => !n.startsWith('.') && !n.endsWith('.sha256'));
    } catch {
      return [];
    }
    const out: { file: string; batchId: string; kind: string }[] = [];
    for (const file of names) {
      const row = (await db('cis_file_exports').where({ file }).whereNull('rejected_at').first()) as
        { batch_id: string; kind: string } | undefined;
      if (!row) continue;
      await db('cis_file_exports').where({ batch_id: row.batch_id }).update({ rejected_at: now.toISOString() });
      out.push({ file, batchId: row.batch_id, kind: row.kind });
    }
    return out;
  }

  /** Temporary files a killed writer left: removed before writing again (their batches have no record). */
  async removeLeftovers(): Promise<void> {
    for (const f of ['reads-out', 'fieldwork-out'] as const) {
      const dir = this.folder(f);
      for (const n of await readdir(dir).catch(() => [] as string[]))
        if (n.startsWith('.') && n.endsWith('.part')) await rm(path.join(dir, n), { force: true });
    }
  }
}

/** The layout's field names → the upload tables' columns. */
const COLUMN: Record<string, string> = {
  batchId: 'batch_id',
  meterId: 'meter_id',
  register: 'register_no',
  readValue: 'read_value',
  readAt: 'read_at',
  readType: 'read_type',
  source: 'read_source',
  readerId: 'reader_id',
  method: 'read_method',
  readCode: 'read_code',
  skipCode: 'skip_code',
  troubleCode: 'trouble_code',
  note: 'note',
  orderNo: 'order_no',
  outcome: 'outcome',
  completedAt: 'completed_at',
  technician: 'technician',
  finalRead: 'final_read',
  newMeterSerial: 'new_meter_serial',
  newMeterRead: 'new_meter_read',
};
