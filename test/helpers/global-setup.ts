import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';

/**
 * In CI every server-backed suite must run: if DATABASE_URL is missing or PostgreSQL does not
 * answer, fail the whole run instead of letting those suites skip. Locally they skip with a note.
 */
export default async function setup(): Promise<void> {
  assertFreshBuild();
  await checkMqtt();
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

/** The same for the MQTT broker: MQTT_URL must answer in CI; without it locally, only the embedded broker is tested. */
async function checkMqtt(): Promise<void> {
  const url = process.env.MQTT_URL;
  if (!url) {
    if (process.env.CI) throw new Error('CI: MQTT_URL is not set; the Mosquitto suites would be skipped');
    console.warn(
      'MQTT_URL not set: suites run on the embedded broker only (set it to include Mosquitto, as .ci/run does)',
    );
    return;
  }
  try {
    const client = await mqtt.connectAsync(url, { connectTimeout: 5000, reconnectPeriod: 0 });
    await client.endAsync();
  } catch (err) {
    throw new Error(`the MQTT broker at MQTT_URL is unreachable: ${(err as Error).message}`);
  }
}

/**
 * Suites that start `fieldgate` as a process run the compiled dist/: never on a dist/ older than
 * the sources (a stale build passes or fails for reasons that are not there). `npm test` builds
 * first; a bare `npx vitest` (or watch mode) after an edit builds here.
 */
export function assertFreshBuild(root = process.cwd()): void {
  const stale = staleSource(root);
  if (!stale) return;
  console.warn(`dist/ is older than ${stale}: building (npm run build)`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  const still = staleSource(root);
  if (still) throw new Error(`dist/ is still older than ${still} after npm run build`);
}

function staleSource(root: string): string | null {
  const built = path.join(root, 'dist', '.built');
  if (!existsSync(built)) return 'dist/.built (never built)';
  const builtAt = statSync(built).mtimeMs;
  const newer = (dir: string): string | null => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === 'node_modules' || e.name === 'fixtures' || e.name === 'web') continue;
        const found = newer(rel);
        if (found) return found;
      } else if (e.name.endsWith('.ts') && statSync(path.join(root, rel)).mtimeMs > builtAt) return rel;
    }
    return null;
  };
  for (const dir of ['src', 'adapters', 'jobs', 'test']) {
    const found = newer(dir);
    if (found) return found;
  }
  return null;
}
