import initial from './001-initial.js';
import dock from './002-dock.js';
import mqtt from './003-mqtt.js';
import ami from './004-ami.js';
import workOrders from './005-work-orders.js';
import notices from './006-disconnect-notices.js';
import consoleSecurity from './007-console-security.js';
import amiIdentity from './008-ami-identity.js';
import attachments from './009-attachments.js';
import intervalPartitions from './010-interval-partitions.js';
import customers from './011-customers.js';
import connectMyData from './012-connect-my-data.js';
import type { Migration } from './migration.js';

/**
 * The gateway store's schema, one migration per file. Migrations are code in a list (not files
 * found at run time) so they run the same from src/ under vitest and from dist/. Instants are
 * ISO-8601 UTC strings: portable across SQLite, PostgreSQL and SQL Server, and they sort.
 */
export const STORE_MIGRATIONS: readonly Migration[] = [
  initial,
  dock,
  mqtt,
  ami,
  workOrders,
  notices,
  consoleSecurity,
  amiIdentity,
  attachments,
  intervalPartitions,
  customers,
  connectMyData,
];

export { listSource, runMigrations, type Migration } from './migration.js';
