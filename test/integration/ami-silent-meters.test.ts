import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJob } from '../../jobs/index.js';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import { silentMeterCounts } from '../../src/infra/store/ami-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine, dayIntervals, ZONE } from '../tools/ami-fixtures.js';

/**
 * Meters that go quiet (issue 18, point 7): a meter that reported over more than a day and has
 * not been heard for ami.silentAfterHours (48) is one SILENT_METER exception and counts in the
 * fieldgate_ami_silent_meters gauge; raised once per silence, resolved when the meter is heard
 * again. A meter heard on one day only has no daily habit to break.
 */
const lastData = DateTime.fromISO('2026-06-13', { zone: ZONE }).toSeconds(); // end of the 3 days read
const at = (hoursAfter: number) => new Date((lastData + hoursAfter * 3600) * 1000);

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('silent AMI meters on $name', (dialect) => {
  let gw: TestGateway;
  let dir: string;
  let now = at(0);
  let meters: string[] = [];
  let files = 0;
  const imp = (lines: string[]): Promise<AmiImportResult> => {
    const file = path.join(dir, `s${++files}.csv`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, file);
  };
  const runJob = async (hoursAfter: number) => {
    now = at(hoursAfter);
    const job = findJob('silent-meters')!;
    const ctl = new AbortController();
    return job.run({ ...gw.ctx, runId: 0, log: gw.ctx.log, signal: ctl.signal });
  };
  const silentExceptions = () =>
    gw.ctx.store
      .db('exceptions')
      .where({ kind: 'SILENT_METER' })
      .orderBy('id')
      .select('meter_id', 'status', 'message', 'resolution') as Promise<
      { meter_id: string; status: string; message: string; resolution: string | null }[]
    >;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fg-silent-'));
    gw = await testGateway(dialect, { label: 'silent', accounts: 200, routes: 2, clock: () => now });
    meters = (
      (await gw.ctx.billing
        .db('cis_meters')
        .where({ meter_type: 'E' })
        .orderBy('meter_id')
        .limit(2)
        .select('meter_id')) as {
        meter_id: string;
      }[]
    ).map((m) => m.meter_id);
    // The first meter reports three days running; the second was heard on the last day only.
    await imp([
      cmepLine(meters[0]!, 'KWH', dayIntervals(1, '2026-06-10', 3)),
      cmepLine(meters[1]!, 'KWH', dayIntervals(2, '2026-06-12', 1)),
    ]);
  });
  afterAll(async () => gw?.close());

  it('raises SILENT_METER once for a daily meter quiet past ami.silentAfterHours, and counts it in the gauge', async () => {
    expect(await runJob(47)).toEqual({ silent: 0 });
    expect(await silentExceptions()).toEqual([]);

    expect(await runJob(49)).toEqual({ silent: 1 });
    const [ex] = await silentExceptions();
    expect(ex).toMatchObject({ meter_id: meters[0], status: 'open' });
    expect(ex!.message).toBe(
      `meter ${meters[0]} has not been heard for 49 hours (last data ${new Date(lastData * 1000).toISOString()}, ` +
        `by ami-cmep; it reported from ${new Date(DateTime.fromISO('2026-06-10', { zone: ZONE }).toMillis()).toISOString()}): ` +
        "check the meter's radio or the receiver or head-end that hears it (ami.silentAfterHours is 48)",
    );
    const before = Math.floor(now.getTime() / 1000) - 48 * 3600;
    expect(await silentMeterCounts(gw.ctx.store.db, before)).toEqual([{ source: 'ami-cmep', n: 1 }]);

    // The next hour's run says nothing new about the same silence.
    expect(await runJob(50)).toEqual({ silent: 0 });
    expect(await silentExceptions()).toHaveLength(1);
  });

  it('resolves the silence when the meter is heard again, and notes a later silence anew', async () => {
    await imp([cmepLine(meters[0]!, 'KWH', dayIntervals(1, '2026-06-15', 1))]);
    const [ex] = await silentExceptions();
    expect(ex).toMatchObject({ status: 'resolved', resolution: `heard again (s${files}.csv)` });
    expect(await runJob(51)).toEqual({ silent: 0 });

    // Quiet again for two days after that last day.
    expect(await runJob(51 + 24 + 49)).toEqual({ silent: 1 });
    expect((await silentExceptions()).map((e) => e.status)).toEqual(['resolved', 'open']);
  });
});
