import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { Billing } from '../../src/infra/billing/billing.js';
import {
  bulkTable,
  bulkType,
  sinkColumn,
  sinkColumnsQuery,
  type BulkSession,
  type SinkColumn,
} from '../../src/infra/billing/mssql-bulk.js';
import type { ReadUploadRow } from '../../src/infra/billing/queries.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { sqlRenderer } from '../../src/infra/db/connect.js';

/**
 * SQL Server's bulk path without a server: the column types taken from INFORMATION_SCHEMA, the
 * bulk-load table built from them, and a post above the threshold running the same knex-rendered
 * statements (pinned by snapshot) plus one bulk load, in one transaction. The live suite
 * (billing-mssql.test.ts, MSSQL_URL) runs it against a real server.
 */
const mssql = sqlRenderer('mssql');
const mapping = loadConfig({ env: {} }).billing.mapping;

// cis_read_upload as SQL Server's INFORMATION_SCHEMA describes the reference schema's table.
const readUpload: SinkColumn[] = [
  ['read_key', 'nvarchar', 100],
  ['batch_id', 'nvarchar', 64],
  ['meter_id', 'nvarchar', 12],
  ['register_no', 'int', null],
  ['read_value', 'bigint', null],
  ['read_at', 'datetime2', null],
  ['read_type', 'nvarchar', 10],
  ['read_source', 'nvarchar', 20],
  ['reader_id', 'nvarchar', 8],
  ['read_method', 'nvarchar', 1],
  ['read_code', 'nvarchar', 2],
  ['skip_code', 'nvarchar', 4],
  ['trouble_code', 'nvarchar', 4],
  ['note', 'nvarchar', 40],
  ['received_at', 'datetime2', null],
].map(([name, dataType, maxLength]) => ({
  name: name as string,
  dataType: dataType as string,
  maxLength: maxLength as number | null,
  precision: null,
  scale: dataType === 'datetime2' ? 3 : null,
  nullable: !['read_key', 'batch_id', 'meter_id'].includes(name as string),
}));

const read = (i: number): ReadUploadRow => ({
  readKey: `W${i}|1|2026-11-23T15:00:00.000Z`,
  meterId: `W${i}`,
  registerNo: 1,
  readValue: 100 + i,
  readAt: '2026-11-23T15:00:00.000Z',
  readType: 'actual',
  source: 'HANDHELD',
  readerId: 'R1',
  method: 'K',
  readCode: null,
  skipCode: null,
  troubleCode: null,
  note: i === 0 ? 'gate code 1234' : null,
});

describe('SQL Server bulk load', () => {
  it("asks INFORMATION_SCHEMA for the sink table's columns in order", () => {
    expect(sinkColumnsQuery(mssql, 'cis_read_upload').toSQL().toNative()).toMatchSnapshot();
    expect(
      sinkColumn({
        name: 'read_key',
        dataType: 'NVARCHAR',
        maxLength: 100,
        precision: null,
        scale: null,
        nullable: 'NO',
      }),
    ).toEqual({
      name: 'read_key',
      dataType: 'nvarchar',
      maxLength: 100,
      precision: null,
      scale: null,
      nullable: false,
    });
  });

  it('types each column as the table declares it, and names a column of a type it does not write', () => {
    expect(
      bulkType({ name: 'a', dataType: 'nvarchar', maxLength: 40, precision: null, scale: null, nullable: true }),
    ).toMatchObject({ type: sql.NVarChar, length: 40 });
    expect(
      bulkType({ name: 'a', dataType: 'varchar', maxLength: -1, precision: null, scale: null, nullable: true }),
    ).toMatchObject({ type: sql.VarChar, length: sql.MAX });
    expect(
      bulkType({ name: 'a', dataType: 'decimal', maxLength: null, precision: 12, scale: 3, nullable: true }),
    ).toMatchObject({ type: sql.Decimal, precision: 12, scale: 3 });
    expect(bulkType({ name: 'a', dataType: 'bigint', maxLength: null, precision: 19, scale: 0, nullable: false })).toBe(
      sql.BigInt,
    );
    expect(() =>
      bulkType({ name: 'photo', dataType: 'varbinary', maxLength: 100, precision: null, scale: null, nullable: true }),
    ).toThrow('column photo is varbinary');
  });

  it('builds the bulk table from the rows: their columns, typed, with times as dates', () => {
    const record = {
      read_key: 'k',
      meter_id: 'W1',
      register_no: 1,
      read_value: 42,
      read_at: '2026-11-23T15:00:00.000Z',
      note: null,
    };
    const table = bulkTable('cis_read_upload', readUpload, [record]);
    expect(table.columns.map((c) => [c.name, c.nullable])).toEqual([
      ['read_key', false],
      ['meter_id', false],
      ['register_no', true],
      ['read_value', true],
      ['read_at', true],
      ['note', true],
    ]);
    expect(table.rows[0]).toEqual(['k', 'W1', 1, 42, new Date('2026-11-23T15:00:00.000Z'), null]);
    expect(() => bulkTable('cis_read_upload', readUpload, [{ read_kee: 'k' }])).toThrow(
      'billing table cis_read_upload has no column read_kee',
    );
  });

  it(
    'posts a batch above the threshold with the rendered statements and one bulk load, skipping keys billing ' +
      'holds',
    async () => {
      const statements: { sql: string; bindings: readonly unknown[] }[] = [];
      const loaded: { table: string; rows: readonly Record<string, unknown>[] }[] = [];
      let transactions = 0;
      const session: BulkSession = {
        query: async (s) => {
          statements.push(s);
          // Billing already holds the first two reads.
          return s.sql.startsWith('select') ? [{ key: read(0).readKey }, { key: read(1).readKey }] : [];
        },
        bulkInsert: async (table, rows) => void loaded.push({ table, rows }),
      };
      const loader = {
        transaction: async <T>(work: (s: BulkSession) => Promise<T>) => (transactions++, work(session)),
        close: async () => undefined,
      };
      const billing = new Billing(mssql, mapping, { loader, minRows: 5 });
      const result = await billing.postReads([0, 1, 2, 3, 4, 5].map(read), {
        source: 'fieldgate',
        now: new Date('2026-11-23T16:00:00.000Z'),
      });

      expect(result).toMatchObject({ posted: 4, alreadyPosted: 2, batchId: expect.any(String) });
      expect(transactions).toBe(1);
      expect(
        statements.map((s) => ({
          sql: s.sql,
          bindings: s.bindings.map((b) => (b === result.batchId ? '<batch id>' : b)),
        })),
      ).toMatchSnapshot();
      expect(loaded).toHaveLength(1);
      expect(loaded[0]!.table).toBe('cis_read_upload');
      expect(loaded[0]!.rows.map((r) => r.meter_id)).toEqual(['W2', 'W3', 'W4', 'W5']);
      expect(loaded[0]!.rows[0]).toMatchObject({
        batch_id: result.batchId,
        read_value: 102,
        read_at: new Date('2026-11-23T15:00:00.000Z'),
        received_at: new Date('2026-11-23T16:00:00.000Z'),
      });
    },
  );

  it("leaves a batch below the threshold to knex's inserts, and nothing to the bulk loader", async () => {
    let used = false;
    const loader = {
      transaction: async () => ((used = true), Promise.reject(new Error('not expected'))),
      close: async () => undefined,
    };
    const billing = new Billing(mssql, mapping, { loader, minRows: 5 });
    // The renderer has no connection, so the knex path fails to connect: what matters is that the loader was not used.
    await expect(billing.postReads([0, 1].map(read), { source: 'fieldgate', now: new Date() })).rejects.toThrow();
    expect(used).toBe(false);
  });
});
