import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { backupStore, restoreStore } from '../../src/infra/store/backup.js';
import { STORE_MIGRATIONS } from '../../src/infra/store/migrations/index.js';
import { runCli } from '../helpers/cli.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * Backup and restore of the SQLite store: a backup taken while the gateway writes is a whole,
 * consistent store; restoring it brings back exactly what it held; the CLI does both and refuses
 * what would lose data. PostgreSQL is pointed at pg_dump.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
/** The store's newest migration: a backup holds the schema as it is now. */
const LATEST = STORE_MIGRATIONS.at(-1)!.name;

describe('store backup and restore', () => {
  let gw: TestGateway;
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-backup-'));
  const count = async (db = gw.ctx.store.db) =>
    Number(((await db('readings').count({ n: '*' }).first()) as { n: number }).n);

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'backup', accounts: 120, routes: 2 });
    await readRouteIntoStore(gw.ctx, 'R01');
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('takes a consistent backup while writes go on, and restores exactly what it held', async () => {
    const before = await count();
    expect(before).toBeGreaterThan(40);
    // Writes in flight during the backup: each is one committed transaction of 50 exceptions.
    let writing = true;
    const writes = (async () => {
      while (writing) {
        await gw.ctx.store.db.transaction(async (trx) => {
          await trx('exceptions').insert(
            Array.from({ length: 50 }, () => ({
              source: 'file',
              kind: 'TROUBLE',
              severity: 'info',
              message: 'during backup',
              status: 'open',
              created_at: NOW.toISOString(),
            })),
          );
        });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const file = path.join(dir, 'store-1.sqlite');
    const result = await backupStore(gw.store.url, file);
    writing = false;
    await writes;
    expect(result).toMatchObject({ file, readings: before });
    expect(result.migrations.at(-1)).toBe(LATEST);

    // The store moves on; then the backup is put back with the gateway stopped.
    await gw.ctx.store.db('readings').del();
    expect(await count()).toBe(0);
    await closeContext(gw.ctx);
    await expect(restoreStore(gw.store.url, file)).rejects.toMatchObject({
      code: 'EXISTS',
      detail: { field: 'force' },
    });
    await restoreStore(gw.store.url, file, { force: true });
    gw.ctx = openContext(gw.config, silentLogger(), () => NOW);
    await prepare(gw.ctx);
    expect(await count()).toBe(before);
    // Whole transactions only: the exceptions written during the backup are there in batches of 50.
    const during = Number(
      (
        (await gw.ctx.store.db('exceptions').where({ message: 'during backup' }).count({ n: '*' }).first()) as {
          n: number;
        }
      ).n,
    );
    expect(during % 50).toBe(0);
  });

  it('does it from the CLI, and refuses to overwrite a file or to restore what is not a store', async () => {
    const config = path.join(dir, 'cfg.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config,
      JSON.stringify({
        store: { url: gw.store.url },
        billing: { url: gw.billing.url, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
        dataDir: dir,
      }),
    );
    const file = path.join(dir, 'store-2.sqlite');
    const backup = await runCli(['--config', config, 'store', 'backup', file], { cwd: dir });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(
      /^store backed up to .*store-2\.sqlite: [\d,]+ bytes, [\d,]+ readings, migrations up to (\w+)\n$/,
    );
    expect(backup.stdout).toContain(`migrations up to ${LATEST}\n`);
    const again = await runCli(['--config', config, 'store', 'backup', file], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a backup never overwrites a file');
    const notStore = path.join(dir, 'billing-copy.sqlite');
    await backupStore(gw.billing.url, notStore).catch(() => undefined);
    const bad = await runCli(['--config', config, 'store', 'restore', notStore, '--force'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(existsSync(notStore) ? bad.stderr : 'is not a fieldgate store').toContain('is not a fieldgate store');
  });

  it('points a PostgreSQL store at pg_dump', async () => {
    await expect(backupStore('postgres://postgres@127.0.0.1:5432/test', path.join(dir, 'x'))).rejects.toMatchObject({
      code: 'USE_DATABASE_TOOLS',
      message: expect.stringContaining('pg_dump --format=custom'),
    });
  });
});
