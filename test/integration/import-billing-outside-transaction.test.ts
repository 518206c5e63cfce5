import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferLineSource } from '../../src/flows/readings/file-source.js';
import { importReadings } from '../../src/flows/readings/import-readings.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { readLineFor, splitLines } from '../helpers/read-file.js';

/**
 * Billing is asked about meters a readings file names off its route only after the import
 * committed: the store's write transaction never waits on billing (a slow CIS held every other
 * writer of the store, and on SQLite, whose one connection the transaction holds, every reader).
 */
describe.each(availableDialects())('meters off the route on $name', (dialect) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'offroute', accounts: 40, routes: 2 });
  });
  afterAll(async () => gw?.close());

  it(
    'asks billing about them outside the store transaction, and names each as unknown or on another ' + 'route',
    async () => {
      const r01 = splitLines(
        (await exportRoute(gw.ctx, { routeCode: 'R01', actor: 'test' })).content.toString('latin1'),
      );
      const r02 = splitLines(
        (await exportRoute(gw.ctx, { routeCode: 'R02', actor: 'test' })).content.toString('latin1'),
      );
      const lines = [
        readLineFor(gw.ctx, r01[0]!, { reading: 1 }),
        readLineFor(gw.ctx, r01[2]!, { reading: 1 }),
        readLineFor(gw.ctx, r01[1]!, { meter_id: 'X9999999' }),
        readLineFor(gw.ctx, r02[0]!, { reading: 1 }),
      ];
      // Whatever billing is asked, the store answers meanwhile (inside the import's transaction it could not on
      // SQLite).
      const findMeters = gw.ctx.billing.findMeters.bind(gw.ctx.billing);
      let storeAnswered = 0;
      gw.ctx.billing.findMeters = async (ids) => {
        const timeout = new Promise((_, reject) =>
          setTimeout(() => reject(new Error('store held while billing was asked')), 3000),
        );
        await Promise.race([gw.ctx.store.db('devices').count({ n: '*' }), timeout]);
        storeAnswered++;
        return findMeters(ids);
      };
      try {
        const summary = await importReadings(
          gw.ctx,
          bufferLineSource('R01.txt', Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1')),
          { source: 'file', actor: 'test', partial: { final: false } },
        );
        expect(summary).toMatchObject({ route: { code: 'R01' }, stored: 2, rejected: 2 });
      } finally {
        gw.ctx.billing.findMeters = findMeters;
      }
      expect(storeAnswered).toBe(1);
      const ex = await gw.ctx.store
        .db('exceptions')
        .whereIn('kind', ['UNKNOWN_METER', 'METER_NOT_ON_ROUTE'])
        .orderBy('line_no');
      expect(ex.map((e) => [e.line_no, e.kind, e.message])).toEqual([
        [3, 'UNKNOWN_METER', 'meter X9999999 is not known to billing'],
        [4, 'METER_NOT_ON_ROUTE', expect.stringMatching(/is not on route R01 \(billing has it on route R02\)$/)],
      ]);
    },
  );
});
