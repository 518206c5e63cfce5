import { writeFileSync } from 'node:fs';
import { migrateStore, openStore } from '../../src/infra/store/store.js';
import { renderTableTypes } from '../../src/infra/store/table-types.js';

/** `npm run gen:tables`: rewrites src/infra/store/tables.ts after a migration changed the schema. */
const store = openStore('sqlite::memory:');
try {
  await migrateStore(store.db);
  writeFileSync('src/infra/store/tables.ts', await renderTableTypes(store.db));
  console.log('src/infra/store/tables.ts written');
} finally {
  await store.close();
}
