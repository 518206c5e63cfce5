import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile, type AmiImportContext } from '../../src/flows/ami/import-ami.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Meters matched by what the file says (issue 18, point 3): an ESPI UsagePoint by its title, its
 * entry id or its href's id, in the configured order; a NEM12 stream by its NMI or its meter
 * serial (billing's serial column); ids of up to 64 characters kept whole on every store, and an
 * unknown meter's exception naming each name that was tried.
 */
const T0 = 1_785_542_400; // 2026-08-01T00:00:00Z
const HOURS = 24;
const UUID = 'urn:uuid:97EAEBAD-1214-4A58-A3D4-A16A6DE718E1';

/** One ESPI UsagePoint of 24 hourly readings of `wh` each; its title and entry id as given. */
function usagePoint(p: { hrefId: string; title?: string; entryId?: string; wh: number }): string {
  const up = `/espi/1_1/resource/Subscription/9/UsagePoint/${p.hrefId}`;
  const rt = `/espi/1_1/resource/ReadingType/${p.hrefId}`;
  const readings = Array.from(
    { length: HOURS },
    (_, i) =>
      `<espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration><espi:start>${T0 + i * 3600}` +
      `</espi:start></espi:timePeriod><espi:value>${p.wh}</espi:value></espi:IntervalReading>`,
  ).join('');
  // Atom does not order an entry's children: here the title and id come after the content.
  return [
    `<entry><link rel="self" href="${up}"/><content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind>` +
      `</espi:ServiceCategory></espi:UsagePoint></content>${p.title ? `<title>${p.title}</title>` : ''}` +
      `${p.entryId ? `<id>${p.entryId}</id>` : ''}</entry>`,
    `<entry><id>urn:x:${up}/MeterReading/1</id><link rel="self" href="${up}/MeterReading/1"/>` +
      `<link rel="related" href="${rt}"/><content><espi:MeterReading/></content></entry>`,
    `<entry><id>urn:x:${rt}</id><link rel="self" href="${rt}"/><content><espi:ReadingType>` +
      `<espi:flowDirection>1</espi:flowDirection><espi:intervalLength>3600</espi:intervalLength>` +
      `<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom></espi:ReadingType></content></entry>`,
    `<entry><id>urn:x:${up}/MeterReading/1/IntervalBlock/1</id><link rel="self" href="${up}/MeterReading/1/IntervalBlock/1"/>` +
      `<content><espi:IntervalBlock><espi:interval><espi:duration>86400</espi:duration><espi:start>${T0}` +
      `</espi:start></espi:interval>${readings}</espi:IntervalBlock></content></entry>`,
  ].join('\n');
}

const feed = (points: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">\n` +
  `<id>urn:x:feed</id><title>utility export</title>\n${points.join('\n')}\n</feed>\n`;

/** A NEM12 file of one E1 stream: 48 half-hours of `kwh` on 2026-09-01 (a day the ESPI cases leave alone). */
const nem12 = (nmi: string, serial: string, kwh: number) =>
  [
    '100,NEM12,202608020600,MDP1,FIELDGATE',
    `200,${nmi},E1,E1,E1,N1,${serial},KWH,30,`,
    `300,20260901,${Array.from({ length: 48 }, () => kwh.toFixed(3)).join(',')},A,,,20260802060000,`,
    '900',
    '',
  ].join('\n');

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI meter names on $name', (dialect) => {
  let gw: TestGateway;
  let dir: string;
  let serial15: string;
  const ctx = (matchBy?: ('title' | 'id' | 'href')[]): AmiImportContext => {
    const config = matchBy ? { ...gw.ctx.config, ami: { ...gw.ctx.config.ami, espi: { matchBy } } } : gw.ctx.config;
    return { ...gw.ctx, config, db: gw.ctx.store.db };
  };
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const stored = async (meter: string, batch: number) => {
    const row = (await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: meter, batch_id: batch })
      .count({ n: '*' })
      .sum({ total: 'value' })
      .first()) as { n: number | string; total: number | string | null };
    return { n: Number(row.n), total: Number(row.total ?? 0) };
  };
  const exceptions = (batch: number) =>
    gw.ctx.store
      .db('exceptions')
      .where({ batch_id: batch })
      .orderBy('id')
      .select('kind', 'meter_id', 'message') as Promise<{ kind: string; meter_id: string; message: string }[]>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fg-names-'));
    gw = await testGateway(dialect, { label: 'names', accounts: 200, routes: 2 });
    const meter = (await gw.ctx.billing.db('cis_meters').where({ meter_id: 'E0000015' }).first()) as {
      serial_no: string;
    };
    serial15 = meter.serial_no;
  });
  afterAll(async () => gw?.close());

  it('matches a UsagePoint by title, then entry id, then href id, and keeps a 45-character unknown id whole', async () => {
    const file = write(
      'names.xml',
      feed([
        // The title is a customer's nickname; the href's id is billing's meter id.
        usagePoint({ hrefId: 'E0000015', title: 'Home', entryId: UUID, wh: 1000 }),
        // The title names one meter, the href another: the title comes first by default.
        usagePoint({ hrefId: 'E0000025', title: 'E0000019', wh: 2000 }),
        // Nothing billing knows: no title, so the entry id leads.
        usagePoint({ hrefId: '7', entryId: UUID.replace('97EA', '11EA'), wh: 3000 }),
      ]),
    );
    const r = await importAmiFile(ctx(), file);
    expect(await stored('E0000015', r.batchId)).toEqual({ n: HOURS, total: HOURS * 1 });
    expect(await stored('E0000019', r.batchId)).toEqual({ n: HOURS, total: HOURS * 2 });
    expect(await stored('E0000025', r.batchId)).toEqual({ n: 0, total: 0 });
    const unknown = (await exceptions(r.batchId)).filter((e) => e.kind === 'UNKNOWN_METER');
    const other = UUID.replace('97EA', '11EA');
    expect(unknown).toEqual([
      {
        kind: 'UNKNOWN_METER',
        meter_id: other,
        message: expect.stringMatching(
          new RegExp(
            `^names\\.xml line \\d+, meter: '${other}' \\(also named '${other.slice(9)}', '7'\\) is not a billing ` +
              `meter id, radio id or serial; its 24 intervals are parked in suspense until billing knows the meter \\(or ` +
              `\`fieldgate ami claim ${other} <meter>\` names it\\)$`,
          ),
        ),
      },
    ]);
    const batch = (await gw.ctx.store.db('import_batches').where({ id: r.batchId }).first()) as { state: string };
    expect(batch.state).toBe('done');
  });

  it('tries the names in the order ami.espi.matchBy gives', async () => {
    const file = write('names-by-href.xml', feed([usagePoint({ hrefId: 'E0000025', title: 'E0000019', wh: 4000 })]));
    const r = await importAmiFile(ctx(['href', 'title']), file);
    expect(await stored('E0000025', r.batchId)).toEqual({ n: HOURS, total: HOURS * 4 });
    expect(await stored('E0000019', r.batchId)).toEqual({ n: 0, total: 0 });
  });

  it("matches a NEM12 stream by billing's meter serial, and names NMI and serial of one it cannot match", async () => {
    const known = await importAmiFile(ctx(), write('by-serial.csv', nem12('NEM1299999', serial15, 0.5)));
    expect(await stored('E0000015', known.batchId)).toEqual({ n: 48, total: 24 });
    expect(await exceptions(known.batchId)).toEqual([]);

    const unknown = await importAmiFile(ctx(), write('unknown.csv', nem12('NEM1288888', 'XS-0042', 0.5)));
    expect(unknown.unknownMeters).toBe(1);
    expect((await exceptions(unknown.batchId)).map((e) => e.message)).toEqual([
      "unknown.csv line 3, meter: 'XS-0042' (also named 'NEM1288888') is not a billing meter id, radio id or serial; " +
        'its 48 intervals are parked in suspense until billing knows the meter (or `fieldgate ami claim XS-0042 <meter>` names it)',
    ]);
  });
});
