import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infra/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { redact } from '../../src/infra/log/logger.js';

const file = (content: unknown) => {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'fg-cfg-')), 'config.json');
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('runs on the shipped defaults: SQLite store, demo billing, Chicago time', () => {
    const config = loadConfig({ env: {} });
    expect(config.store.url).toBe('sqlite:./data/fieldgate.sqlite');
    expect(config.billing.mapping.meters.table).toBe('cis_meters');
    expect(config.timeZone).toBe('America/Chicago');
  });

  it('takes a file, then the environment, over the defaults', () => {
    const config = loadConfig({
      file: file({ timeZone: 'America/Denver', server: { port: 9000 } }),
      env: {
        DATABASE_URL: 'postgres://u:p@db/fg',
        FIELDGATE_SERVER__PORT: '9100',
        FIELDGATE_JOBS__SCHEDULES__POST_READINGS__ENABLED: 'false',
      },
    });
    expect(config.timeZone).toBe('America/Denver');
    expect(config.server.port).toBe(9100);
    expect(config.store.url).toBe('postgres://u:p@db/fg');
    expect(config.jobs.schedules['post-readings']?.enabled).toBe(false);
  });

  it('names the key and what was expected', () => {
    expect(problems(() => loadConfig({ env: { FIELDGATE_SERVER__PORT: 'eighty' } }))).toEqual([
      'server.port: Invalid input: expected number, received string',
    ]);
    expect(problems(() => loadConfig({ file: file({ timeZone: 'Mars/Olympus' }), env: {} }))).toEqual([
      'timeZone: expected an IANA time zone such as America/Chicago',
    ]);
    expect(
      problems(() =>
        loadConfig({
          file: file({ jobs: { schedules: { 'post-readings': { cron: 'every day', enabled: true } } } }),
          env: {},
        }),
      )[0],
    ).toMatch(/^jobs.schedules.post-readings.cron: expected a cron expression/);
  });

  it('refuses a misspelt key instead of ignoring it', () => {
    expect(problems(() => loadConfig({ file: file({ server: { prot: 1 } }), env: {} }))[0]).toMatch(
      /^server: Unrecognized key: "prot"/,
    );
  });

  it('checks a partial billing mapping override against the whole mapping', () => {
    const config = loadConfig({ file: file({ billing: { mapping: { meters: { table: 'dbo.Meter' } } } }), env: {} });
    expect(config.billing.mapping.meters.table).toBe('dbo.Meter');
    expect(config.billing.mapping.meters.columns.dials).toBe('dials');
    expect(
      problems(() =>
        loadConfig({
          file: file({ billing: { mapping: { meters: { columns: { dials: 'dials; drop table x' } } } } }),
          env: {},
        }),
      ),
    ).toEqual(['billing.mapping.meters.columns.dials: expected a SQL identifier (letters, digits, _ and .)']);
  });

  it('says when the config file is not JSON or not there', () => {
    expect(problems(() => loadConfig({ file: file('{ nope'), env: {} }))[0]).toMatch(
      /config file .* is not valid JSON/,
    );
    expect(problems(() => loadConfig({ file: '/no/such/config.json', env: {} }))[0]).toMatch(
      /cannot read config file \/no\/such\/config.json: ENOENT/,
    );
  });
});

describe('log redaction', () => {
  it('masks passwords in connection URLs and secret-named keys at any depth', () => {
    expect(
      redact({ store: { url: 'postgres://fg:s3cret@db:5432/fg' }, apiToken: 'abc', nested: [{ password: 'x' }] }),
    ).toEqual({
      store: { url: 'postgres://fg:***@db:5432/fg' },
      apiToken: '***',
      nested: [{ password: '***' }],
    });
  });
});

describe('configuration reference', () => {
  it(
    'docs/config.md is what `fieldgate config reference` prints now (regenerate it when the schema or defaults ' +
      'change)',
    async () => {
      const { configReference } = await import('../../src/infra/config/reference.js');
      const { readFileSync } = await import('node:fs');
      const reference = configReference();
      expect(readFileSync('docs/config.md', 'utf8')).toBe(reference);
      // Every key of the defaults is in it, with its default.
      expect(reference).toContain('| `prebill.reviewBeforePosting` | boolean | `false` |');
      expect(reference).toContain('| `auth.login.maxFailures` | integer (≥ 1) | `5` |');
    },
  );
});
