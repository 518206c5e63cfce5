import { describe, expect, it } from 'vitest';
import * as q from '../../src/infra/billing/queries.js';
import { createReferenceSchema } from '../../src/infra/billing/reference/schema.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { sqlRenderer } from '../../src/infra/db/connect.js';
import { rowsPerStatement } from '../../src/infra/db/sql-utils.js';

/**
 * SQL Server is not available here, so the SQL the billing layer sends it is pinned by
 * snapshot: a change to any statement shows up in review. The live suite runs with MSSQL_URL.
 */
const mssql = sqlRenderer('mssql');
const mapping = loadConfig({ env: {} }).billing.mapping;
const sql = (b: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } }) => b.toSQL().toNative();

describe('billing SQL for SQL Server', () => {
  it('probes each mapped entity with a zero-row select', () => {
    expect(sql(q.probeEntity(mssql, mapping, 'meters'))).toMatchSnapshot();
  });
  it('reads routes, route meters, registers, history and meter lookups', () => {
    expect(sql(q.selectRoutes(mssql, mapping))).toMatchSnapshot();
    expect(sql(q.selectRoute(mssql, mapping, 'R01'))).toMatchSnapshot();
    expect(sql(q.selectRouteMeters(mssql, mapping, 'R01'))).toMatchSnapshot();
    expect(sql(q.selectRegisters(mssql, mapping, ['W1', 'W2']))).toMatchSnapshot();
    expect(sql(q.selectHistory(mssql, mapping, ['W1'], '2025-10-01'))).toMatchSnapshot();
    expect(sql(q.selectMetersById(mssql, mapping, ['W1']))).toMatchSnapshot();
    expect(
      sql(
        q.selectExistingKeys(mssql, mapping.readUpload.table, mapping.readUpload.columns.readKey, [
          'W1|1|2026-11-23T15:00:00.000Z',
        ]),
      ),
    ).toMatchSnapshot();
    expect(sql(q.selectOpenServiceOrders(mssql, mapping))).toMatchSnapshot();
    expect(sql(q.selectLedgerMeters(mssql, mapping, ['W1', 'W2']))).toMatchSnapshot();
  });
  it('reads meters for AMI, accounts past due and where accounts stand', () => {
    expect(sql(q.selectMeterRegisters(mssql, mapping))).toMatchSnapshot();
    expect(sql(q.selectAccountMeters(mssql, mapping, 'A100'))).toMatchSnapshot();
    expect(sql(q.selectAccountsMeters(mssql, mapping, ['A100', 'A101']))).toMatchSnapshot();
    expect(sql(q.selectPastDueAccounts(mssql, mapping, '2026-11-05', 25))).toMatchSnapshot();
    expect(sql(q.selectAccountStanding(mssql, mapping, ['A100', 'A101']))).toMatchSnapshot();
    expect(sql(q.selectMeterRegistersNamed(mssql, mapping, 'radioId', ['12345678', '87654321']))).toMatchSnapshot();
  });
  it("reads a CSR's account search and the account page", () => {
    // A % or _ in what a CSR types is a character, not a wildcard.
    expect(sql(q.searchAccounts(mssql, mapping, '50% Oak_St', 25))).toMatchSnapshot();
    expect(sql(q.selectAccount(mssql, mapping, 'A100'))).toMatchSnapshot();
    expect(sql(q.selectAccountMeterRegisters(mssql, mapping, 'A100'))).toMatchSnapshot();
  });
  it('writes the upload batch and reads with Date parameters', () => {
    expect(
      sql(
        q.insertUploadBatch(mssql, mapping, {
          batchId: 'b-1',
          kind: 'READS',
          source: 'fieldgate',
          rowCount: 2,
          checksum: 'abc',
          createdAt: '2026-11-23T16:00:00.000Z',
        }),
      ),
    ).toMatchSnapshot();
    const row: q.ReadUploadRow = {
      readKey: 'W1|1|2026-11-23T15:00:00.000Z',
      meterId: 'W1',
      registerNo: 1,
      readValue: 30,
      readAt: '2026-11-23T15:00:00.000Z',
      readType: 'actual',
      source: 'HANDHELD',
      readerId: 'R1',
      method: 'K',
      readCode: null,
      skipCode: null,
      troubleCode: null,
      note: null,
    };
    const record = q.readUploadRecord(mssql, mapping, row, 'b-1', '2026-11-23T16:00:00.000Z');
    expect(record.read_at).toBeInstanceOf(Date);
    // On SQL Server, insertMany sends plain multi-row inserts of the mapped table: this statement.
    expect(sql(mssql(mapping.readUpload.table).insert([record]))).toMatchSnapshot();
  });
  it('writes completed field work', () => {
    const row: q.FieldWorkUploadRow = {
      completionKey: 'WO-1',
      orderNo: 'SO000001',
      outcome: 'COMPLETED',
      completedAt: '2026-11-23T16:00:00.000Z',
      technician: 'tom',
      finalRead: 1234,
      newMeterSerial: null,
      newMeterRead: null,
    };
    const record = q.fieldWorkUploadRecord(mssql, mapping, row, 'b-2');
    expect(record.completed_at).toBeInstanceOf(Date);
    expect(sql(mssql(mapping.fieldWorkUpload.table).insert([record]))).toMatchSnapshot();
  });
  it("keeps each insert under SQL Server's 2,100 parameters", () => {
    expect(rowsPerStatement(15) * 15).toBeLessThanOrEqual(2100);
  });
  it('creates the reference CIS schema', () => {
    expect(createReferenceSchema(mssql.schema).toString()).toMatchSnapshot();
  });
});
