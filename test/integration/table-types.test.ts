import { readFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { migrateStore, openStore } from '../../src/infra/store/store.js';
import { renderTableTypes } from '../../src/infra/store/table-types.js';

describe('store row types', () => {
  it('src/infra/store/tables.ts is what the migrations make now (npm run gen:tables after a migration)', async () => {
    const store = openStore('sqlite::memory:');
    try {
      await migrateStore(store.db);
      const file = 'src/infra/store/tables.ts';
      const rendered = await format(await renderTableTypes(store.db), {
        ...(await resolveConfig(file)),
        filepath: file,
      });
      expect(readFileSync(file, 'utf8')).toBe(rendered);
    } finally {
      await store.close();
    }
  });
});
