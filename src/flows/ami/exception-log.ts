import type { Knex } from 'knex';
import { insertExceptionRows, raisedFindings } from '../../infra/store/exceptions-repo.js';
import { storedMeterId } from '../../core/meter-id.js';

export interface AmiException {
  /** A finding's identity on its meter ("SPIKE@1785542400"): one already raised, by any batch, is not raised again. */
  key?: string | null;
  kind: string;
  severity: 'error' | 'warn' | 'info';
  line: number | null;
  meterId: string | null;
  field: string | null;
  value: string | null;
  /** Already names the file and the record. */
  message: string;
}

/**
 * Exceptions from one AMI file, for the CSR's queue. A bad file can produce a finding per
 * interval; past `max` they are counted, and one summary exception says how many were left out.
 */
export class ExceptionLog {
  private queued: AmiException[] = [];
  private kept = 0;
  private overflow = 0;
  readonly byKind = new Map<string, number>();

  constructor(
    private readonly source: string,
    private readonly batchId: number,
    private readonly max: number,
  ) {}

  add(e: AmiException): void {
    this.byKind.set(e.kind, (this.byKind.get(e.kind) ?? 0) + 1);
    if (this.kept >= this.max) {
      this.overflow++;
      return;
    }
    this.kept++;
    this.queued.push(e);
  }

  get total(): number {
    return this.kept + this.overflow;
  }

  async flush(db: Knex | Knex.Transaction, now: string, final = false): Promise<void> {
    if (final && this.overflow > 0) {
      const counts = [...this.byKind].map(([k, n]) => `${k} ${n}`).join(', ');
      this.queued.push({
        kind: 'TOO_MANY_FINDINGS',
        severity: 'warn',
        line: null,
        meterId: null,
        field: null,
        value: String(this.overflow),
        message: `${this.overflow} more findings not listed (all findings: ${counts})`,
      });
      this.overflow = 0;
    }
    const rows = this.queued.map((e) => ({
      source: this.source,
      batch_id: this.batchId,
      line_no: e.line,
      meter_id: e.meterId == null ? null : storedMeterId(e.meterId),
      finding_key: e.key?.slice(0, 60) ?? null,
      kind: e.kind.slice(0, 30),
      severity: e.severity,
      field: e.field?.slice(0, 40) ?? null,
      value: e.value?.slice(0, 100) ?? null,
      message: e.message.slice(0, 500),
      status: e.severity === 'info' ? 'closed' : 'open',
      created_at: now,
    }));
    this.queued = [];
    // A finding an earlier batch raised (an overlapping radio message, a file sent again with more days) is not repeated.
    const raised = await raisedFindings(db, rows);
    const fresh = rows.filter((r) => {
      if (!r.finding_key || !raised.has(`${r.meter_id}|${r.finding_key}`)) return true;
      this.kept--;
      const left = this.byKind.get(r.kind)! - 1;
      if (left > 0) this.byKind.set(r.kind, left);
      else this.byKind.delete(r.kind);
      return false;
    });
    await insertExceptionRows(db, fresh);
  }
}
