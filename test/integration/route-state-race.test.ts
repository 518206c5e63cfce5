import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRouteEvent, type RouteRow } from '../../src/infra/store/routes-repo.js';
import { migrateStore, openStore, type Store } from '../../src/infra/store/store.js';
import { postgresFactory, type TestDatabase } from '../helpers/databases.js';

/**
 * Fault suite finding (seed 62754887): after an outage a field device's three batches of one
 * route were handled at once. Each read the route `loaded`; the final batch committed it, and
 * then the other two wrote `uploaded` over the commit. The route never reached `committed`,
 * so billing's view of the route stayed half-done. PostgreSQL only: SQLite has one writer.
 */
const url = process.env.DATABASE_URL;

describe.skipIf(!url)('route state under concurrent batches (PostgreSQL)', () => {
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    db = await postgresFactory(url!).create('routerace');
    store = openStore(db.url);
    await migrateStore(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('fault finding batches at once: a route committed by one batch is not put back to uploaded by another', async () => {
    const now = new Date().toISOString();
    await store.db('routes').insert({ route_code: 'R02', cycle: '2026-11', state: 'loaded', updated_at: now });
    const read = async (trx: typeof store.db) => (await trx('routes').where({ route_code: 'R02' }).first()) as RouteRow;
    const opts = { actor: 'mqtt:T-0001', now };

    // An earlier batch read the route loaded, in a transaction still open...
    const early = await store.db.transaction();
    const seen = await read(early);
    expect(seen.state).toBe('loaded');
    // ...while the final batch uploads and commits it, and commits its transaction.
    await store.db.transaction(async (trx) => {
      const r = await applyRouteEvent(trx, await read(trx), 'upload', opts);
      await applyRouteEvent(trx, r, 'commit', opts);
    });
    // The earlier batch now uploads from what it read.
    const after = await applyRouteEvent(early, seen, 'upload', opts);
    await early.commit();

    expect(after.state).toBe('committed');
    expect((await read(store.db)).state).toBe('committed');
    const events = await store.db('route_events').orderBy('id').select('event', 'to_state');
    expect(events).toEqual([
      { event: 'upload', to_state: 'uploaded' },
      { event: 'commit', to_state: 'committed' },
    ]);
  });
});
