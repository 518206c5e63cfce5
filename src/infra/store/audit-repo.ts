/**
 * The audit log: who changed what, when, and the values before and after. Written in the same
 * transaction as the change, so there is no change without its entry (and no entry without its change).
 */

import type { Knex } from 'knex';
import type { AuditLogRow } from './tables.js';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string | null;
  detail?: Record<string, unknown>;
}

export async function audit(db: Knex | Knex.Transaction, entry: AuditEntry, now: Date): Promise<void> {
  await db('audit_log').insert({
    at: now.toISOString(),
    actor: entry.actor.slice(0, 80),
    action: entry.action,
    target: entry.target?.slice(0, 120) ?? null,
    detail: entry.detail ? JSON.stringify(entry.detail) : null,
  });
}

export async function auditTrail(
  db: Knex,
  q: { target?: string; actor?: string; limit: number; offset: number },
): Promise<(Omit<AuditLogRow, 'detail'> & { detail: unknown })[]> {
  const query = db('audit_log').select('*').orderBy('id', 'desc').limit(q.limit).offset(q.offset);
  if (q.target) query.where('target', q.target);
  if (q.actor) query.where('actor', q.actor);
  return (await query).map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }));
}
