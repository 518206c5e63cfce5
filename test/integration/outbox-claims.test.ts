import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPending, enqueue, releaseOwnClaims } from '../../src/infra/store/outbox-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Fault suite finding "claim from the future": a gateway killed while sending had claimed an
 * MQTT message; the restarted gateway's clock had stepped back 15 minutes, so the claim looked
 * fresh for 15 minutes and the technician's order update waited that long.
 */
describe.each(availableDialects())('outbox claims on $name', (dialect) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'claims', accounts: 10, routes: 1 });
  });
  afterAll(async () => gw?.close());

  it(
    'fault finding claim from the future: takes over a claim stamped ahead of its clock, and a restarted sender ' +
      'gets its own claims back',
    async () => {
      const db = gw.ctx.store.db;
      const t = new Date('2026-11-23T19:10:14.957Z');
      await enqueue(db, 'test.claims', [{ key: 'k1', payload: { n: 1 } }], t.toISOString());
      expect((await claimPending(db, 'test.claims', 5, 'gateway-a', t, 30_000)).map((i) => i.key)).toEqual(['k1']);
      // Another sender 10 s later on the same clock: the claim is fresh, nothing to take.
      expect(await claimPending(db, 'test.claims', 5, 'gateway-b', new Date(t.getTime() + 10_000), 30_000)).toEqual([]);
      // A sender whose clock stepped back 15 minutes: the claim is from its future, so it is taken over.
      expect(
        (await claimPending(db, 'test.claims', 5, 'gateway-c', new Date(t.getTime() - 15 * 60_000), 30_000)).map(
          (i) => i.key,
        ),
      ).toEqual(['k1']);

      // A sender restarted under its own name gets back what it claimed before, at once.
      await enqueue(db, 'test.claims2', [{ key: 'k2', payload: { n: 2 } }], t.toISOString());
      expect((await claimPending(db, 'test.claims2', 5, 'gateway-d', t, 30_000)).map((i) => i.key)).toEqual(['k2']);
      expect(await claimPending(db, 'test.claims2', 5, 'gateway-d', new Date(t.getTime() + 1000), 30_000)).toEqual([]);
      expect(await releaseOwnClaims(db, 'test.claims2', 'gateway-d')).toBe(1);
      expect(
        (await claimPending(db, 'test.claims2', 5, 'gateway-d', new Date(t.getTime() + 2000), 30_000)).map(
          (i) => i.key,
        ),
      ).toEqual(['k2']);
    },
  );

  it('gateways claiming at once each get their own rows, every row once', async () => {
    const db = gw.ctx.store.db;
    const t = new Date('2026-11-23T21:00:00.000Z');
    const keys = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await enqueue(
      db,
      'test.race',
      keys.map((key) => ({ key, payload: { key } })),
      t.toISOString(),
    );
    const claimers = ['gw-1', 'gw-2', 'gw-3'];
    const got: string[][] = claimers.map(() => []);
    // Each claims pages of 40 until nothing is left, all three at the same time.
    await Promise.all(
      claimers.map(async (holder, n) => {
        for (let page = 0; ; page++) {
          const items = await claimPending(db, 'test.race', 40, holder, new Date(t.getTime() + page), 30_000);
          if (items.length === 0) return;
          got[n]!.push(...items.map((i) => i.key));
        }
      }),
    );
    const all = got.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(keys);
    // A quiet outbox answers nothing.
    expect(await claimPending(db, 'test.race', 40, 'gw-1', new Date(t.getTime() + 999), 30_000)).toEqual([]);
  });
});
