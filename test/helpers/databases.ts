import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * Fresh, empty databases for one suite, in each dialect available: SQLite always, PostgreSQL
 * when DATABASE_URL is set (always in CI), SQL Server when MSSQL_URL is set. Contract suites
 * run once per entry (as MQTT.js's abstract store tests do).
 */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface DialectFactory {
  name: 'sqlite' | 'postgres' | 'mssql';
  create(label: string): Promise<TestDatabase>;
}

export function sqliteFactory(): DialectFactory {
  return {
    name: 'sqlite',
    async create(label) {
      const dir = mkdtempSync(path.join(tmpdir(), `fg-${label}-`));
      return {
        url: `sqlite:${path.join(dir, 'db.sqlite')}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

export function postgresFactory(baseUrl: string): DialectFactory {
  return {
    name: 'postgres',
    async create(label) {
      const name = `fg_${label.replace(/\W/g, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        drop: async () => {
          const c = new pg.Client({ connectionString: baseUrl });
          await c.connect();
          await c.query(`drop database if exists ${name} with (force)`);
          await c.end();
        },
      };
    },
  };
}

export function availableDialects(): DialectFactory[] {
  const out = [sqliteFactory()];
  if (process.env.DATABASE_URL) out.push(postgresFactory(process.env.DATABASE_URL));
  return out;
}
