import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postReadings } from '../../jobs/post-readings.js';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { readLineFor, routeFields, simulateReads, splitLines } from '../helpers/read-file.js';

/**
 * The first flow of design.md end to end, on every store/billing dialect: billing route →
 * route file → a reader's day (skips, re-key, high read, rollover, bad lines) → import →
 * post-readings twice → billing staging holds each good read exactly once.
 */
describe.each(availableDialects())('readings round trip on $name', (dialect) => {
  let gw: TestGateway;
  let routeLines: string[];
  let fileText: string;
  let expectedValid: number;

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'roundtrip', accounts: 300, routes: 2 });
    // One 4-dial register sits just below its rollover, as a real route would have.
    const meter = (await gw.ctx.billing
      .db('cis_meters')
      .where({ route_code: 'R01', dials: 4, status: 'A' })
      .first()) as { meter_id: string };
    await gw.ctx.billing.db('cis_registers').where({ meter_id: meter.meter_id }).update({ last_read_value: 9950 });
    const exported = await exportRoute(gw.ctx, { routeCode: 'R01', actor: 'test' });
    routeLines = splitLines(exported.content.toString('latin1'));
    const day = simulateReads(gw.ctx, exported.content.toString('latin1'), new Date('2026-11-23T14:00:00Z'));
    const lines = [...day.lines];

    const rollIdx = routeLines.findIndex((l) => routeFields(gw.ctx, l).meter_id === meter.meter_id);
    const roll = routeFields(gw.ctx, routeLines[rollIdx]!);
    const lowUse = (Number(roll.low_limit) - 9950 + 10_000) % 10_000;
    lines[rollIdx] = readLineFor(gw.ctx, routeLines[rollIdx]!, { reading: (9950 + lowUse + 1) % 10_000 });
    const rekeyIdx = day.kinds.indexOf('read');
    lines[rekeyIdx] =
      lines[rekeyIdx]!.slice(0, 59) + 'RK' + lines[rekeyIdx]!.slice(61, 77) + 'Y' + lines[rekeyIdx]!.slice(78);
    const highIdx = day.kinds.findIndex((k, i) => k === 'read' && i !== rekeyIdx && i !== rollIdx);
    lines[highIdx] = readLineFor(gw.ctx, routeLines[highIdx]!, {
      reading:
        (Number(routeFields(gw.ctx, routeLines[highIdx]!).high_limit) + 5) %
        10 ** Number(routeFields(gw.ctx, routeLines[highIdx]!).dials),
    });
    day.kinds[highIdx] = 'high';
    day.kinds[rollIdx] = 'read';

    const otherRoute = await exportRoute(gw.ctx, { routeCode: 'R02', actor: 'test' });
    const foreign = splitLines(otherRoute.content.toString('latin1'))[0]!;
    const bad = [
      lines[0]!.slice(0, 100), // line 1 of the bad block: wrong length
      readLineFor(gw.ctx, routeLines[1]!, { meter_id: 'X9999999' }),
      readLineFor(gw.ctx, foreign, { reading: 1 }),
      lines[2]!, // the same meter again
      readLineFor(gw.ctx, routeLines[3]!, { reading: 1 }).slice(0, 34) +
        '00001A2345' +
        readLineFor(gw.ctx, routeLines[3]!, { reading: 1 }).slice(44),
      readLineFor(gw.ctx, routeLines[4]!, { reading: 5, read_at: '20260308023000' }),
    ];
    // Lines 3 and 4 of the route are replaced by bad versions: drop their good lines.
    const good = lines.filter((_, i) => i !== 3 && i !== 4);
    fileText = [...good, ...bad].map((l) => `${l}\r\n`).join('');
    const heldKinds = day.kinds.filter(
      (k, i) => i !== 3 && i !== 4 && (k === 'skip' || (k === 'high' && !lines[i]!.slice(59, 61).includes('HC'))),
    );
    expectedValid = good.length - heldKinds.length;
  });
  afterAll(async () => gw?.close());

  it('stores every good line and turns every bad line into an exception naming line and field', async () => {
    const summary = await importReadings(gw.ctx, bufferLineSource('R01.txt', Buffer.from(fileText, 'latin1')), {
      source: 'file',
      actor: 'test',
    });
    const goodCount = routeLines.length - 2;
    expect(summary).toMatchObject({
      route: { code: 'R01', state: 'committed' },
      lines: goodCount + 6,
      stored: goodCount,
      rejected: 6,
      duplicateOf: null,
    });
    const ex = await gw.ctx.store
      .db('exceptions')
      .where({ batch_id: summary.batchId, severity: 'reject' })
      .orderBy('line_no');
    expect(ex.map((e) => [Number(e.line_no) - goodCount, e.kind, e.field])).toEqual([
      [1, 'LINE_LENGTH', '(line)'],
      [2, 'UNKNOWN_METER', 'meter_id'],
      [3, 'METER_NOT_ON_ROUTE', 'meter_id'],
      [4, 'DUPLICATE_LINE', 'meter_id'],
      [5, 'NOT_A_NUMBER', 'reading'],
      [6, 'DST_GAP', 'read_at'],
    ]);
    expect(String(ex[2]!.message)).toMatch(/billing has it on route R02/);
    const kinds = (await gw.ctx.store.db('exceptions').where({ batch_id: summary.batchId }).select('kind')).map(
      (e) => e.kind,
    );
    expect(kinds).toContain('HIGH_READ');
    expect(kinds).toContain('SKIPPED');
  });

  it('computes a rollover read as consumption across the dial', async () => {
    const row = (await gw.ctx.store.db('readings').where({ rollover: true }).first())!;
    expect(row).toBeDefined();
    expect(Number(row.consumption)).toBeGreaterThan(0);
    expect(Number(row.consumption)).toBeLessThan(10_000);
    expect(row.status).toBe('valid');
  });

  it('keeps the re-key and its code', async () => {
    expect(await gw.ctx.store.db('readings').where({ read_code: 'RK' }).first()).toMatchObject({ status: 'valid' });
  });

  it('stores the same file once however often it arrives', async () => {
    const before = await gw.ctx.store.db('readings').count({ n: '*' }).first();
    const again = await importReadings(gw.ctx, bufferLineSource('again.txt', Buffer.from(fileText, 'latin1')), {
      source: 'file',
      actor: 'test',
    });
    expect(again.duplicateOf).toBe(1);
    expect(await gw.ctx.store.db('readings').count({ n: '*' }).first()).toEqual(before);
  });

  it('posts each valid read to billing exactly once, however often the job runs', async () => {
    const first = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    expect(first).toMatchObject({ status: 'ok', counts: { posted: expectedValid, alreadyPosted: 0 } });
    const second = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    expect(second.counts).toEqual({ posted: 0, alreadyPosted: 0, batches: 0 });
    const staged = (await gw.ctx.billing.db('cis_read_upload').select('read_key')) as { read_key: string }[];
    expect(staged).toHaveLength(expectedValid);
    expect(new Set(staged.map((s) => s.read_key)).size).toBe(expectedValid);
    const valid = await gw.ctx.store
      .db('readings')
      .where({ status: 'valid' })
      .whereNotNull('reading')
      .count({ n: '*' })
      .first();
    expect(Number(valid!.n)).toBe(expectedValid);
    const batch = await gw.ctx.billing.db('cis_upload_batch').first();
    expect(Number(batch.row_count)).toBe(expectedValid);
    expect(await gw.ctx.store.db('posted_batches').where({ batch_id: batch.batch_id }).first()).toMatchObject({
      checksum: batch.checksum,
    });
  });

  it('refuses to load a route that is already out on a device', async () => {
    await expect(exportRoute(gw.ctx, { routeCode: 'R02', actor: 'test', deviceId: 'HH-0002' })).rejects.toThrow(
      /route R02 \(2026-1\d\) is loaded on FILE since .*re-load it with a reason/,
    );
  });
});
