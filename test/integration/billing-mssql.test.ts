import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Billing } from '../../src/infra/billing/billing.js';
import type { ReadUploadRow } from '../../src/infra/billing/queries.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';

/**
 * The billing layer on a live SQL Server, when MSSQL_URL names a database fieldgate may create
 * the reference tables in (mssql://user:pass@host:1433/db?encrypt=false). Not available on the
 * project's CI machine; the SQL it sends is pinned by the snapshot suite there.
 */
const url = process.env.MSSQL_URL;

describe.skipIf(!url)('billing on SQL Server (MSSQL_URL)', () => {
  let billing: Billing;
  beforeAll(async () => {
    billing = Billing.open(url!, loadConfig({ env: {} }).billing.mapping);
    await seedReferenceBilling(billing.db, { accounts: 120, routes: 2, seed: 5, today: '2026-11-23', reset: true });
  });
  afterAll(async () => billing?.close());

  it('passes the mapping check and reads a route with history', async () => {
    await billing.verify();
    const registers = await billing.routeRegisters('R01', '2025-10-01');
    expect(registers.length).toBeGreaterThan(50);
    expect(registers[0]).toMatchObject({
      accountNo: expect.any(String),
      dials: expect.any(Number),
      lastReadDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(registers[0]!.history.length).toBeGreaterThan(6);
  });

  it('posts reads once however often they are sent', async () => {
    const registers = await billing.routeRegisters('R01', '2026-10-01');
    const rows: ReadUploadRow[] = registers.map((r, i) => ({
      readKey: `${r.meterId}|${r.registerNo}|2026-11-23T15:${String(i % 60).padStart(2, '0')}:00.000Z`,
      meterId: r.meterId,
      registerNo: r.registerNo,
      readValue: r.lastReadValue,
      readAt: '2026-11-23T15:00:00.000Z',
      readType: 'actual',
      source: 'HANDHELD',
      readerId: 'R1',
      method: 'K',
      readCode: null,
      skipCode: null,
      troubleCode: null,
      note: null,
    }));
    const first = await billing.postReads(rows, { source: 'test', now: new Date() });
    expect(first).toMatchObject({ posted: rows.length, alreadyPosted: 0 });
    const second = await billing.postReads(rows, { source: 'test', now: new Date() });
    expect(second).toMatchObject({ posted: 0, alreadyPosted: rows.length, batchId: null });
  });

  it('bulk-loads a batch above billing.bulkLoadMinRows, once however often it is sent', async () => {
    const rows: ReadUploadRow[] = Array.from({ length: 2500 }, (_, i) => ({
      readKey: `BULK${i}|1|2026-11-24T15:00:00.000Z`,
      meterId: `BULK${String(i).padStart(5, '0')}`,
      registerNo: 1,
      readValue: i,
      readAt: '2026-11-24T15:00:00.000Z',
      readType: 'actual',
      source: 'AMI',
      readerId: null,
      method: 'R',
      readCode: null,
      skipCode: null,
      troubleCode: null,
      note: i % 2 ? null : 'bulk',
    }));
    expect(billing.bulk?.minRows).toBeLessThanOrEqual(rows.length);
    const first = await billing.postReads(rows, { source: 'test', now: new Date() });
    expect(first).toMatchObject({ posted: rows.length, alreadyPosted: 0 });
    const second = await billing.postReads(rows, { source: 'test', now: new Date() });
    expect(second).toMatchObject({ posted: 0, alreadyPosted: rows.length });
    const stored = await billing.db('cis_read_upload').where('read_key', 'like', 'BULK%').count({ n: '*' }).first();
    expect(Number(stored!.n)).toBe(rows.length);
    const one = await billing.db('cis_read_upload').where({ read_key: rows[4]!.readKey }).first();
    expect(one).toMatchObject({ read_value: 4, batch_id: first.batchId, note: 'bulk' });
  });
});
