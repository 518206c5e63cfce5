import pg from 'pg';

/**
 * In CI every server-backed suite must run: if DATABASE_URL is missing or PostgreSQL does not
 * answer, fail the whole run instead of letting those suites skip. Locally they skip with a note.
 */
export default async function setup(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    if (process.env.CI) throw new Error('CI: DATABASE_URL is not set; the PostgreSQL suites would be skipped');
    console.warn('DATABASE_URL not set: PostgreSQL suites are skipped (set it to run them, as .ci/run does)');
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`PostgreSQL at DATABASE_URL is unreachable: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
