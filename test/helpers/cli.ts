import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Cleanup } from './cleanup.js';
import { packageRoot } from '../../src/infra/config/paths.js';

export const BIN = path.join(packageRoot, 'bin', 'fieldgate.js');

/** Runs the built CLI as a user would, in `cwd`, and collects its output. */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

export function spawnCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcessWithoutNullStreams {
  // The CLI runs on its own defaults in `cwd` unless a test points it elsewhere.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    DATABASE_URL: undefined,
    BILLING_DATABASE_URL: undefined,
    MQTT_URL: undefined,
    ...opts.env,
  };
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env });
}

/**
 * `fieldgate start --config <file>` as its own process, resolved once it says it is running.
 * `stop` is registered with the caller's cleanup: SIGTERM (SIGKILL after 10 s), or SIGKILL for a crash test.
 */
export function startGatewayProcess(
  configFile: string,
  cwd: string,
  cleanup: Cleanup,
): Promise<ChildProcessWithoutNullStreams> {
  const child = spawnCli(['start', '--config', configFile], { cwd });
  cleanup.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(late);
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('fieldgate is running')) resolve(child);
    });
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before it was running:\n${out}`)));
  });
}

/**
 * A gateway of its own in a fresh directory: SQLite store and a demo billing database seeded on
 * first run with `accounts` over one route, HTTP on a free port, no demo token; `extra` overrides.
 */
export function gatewayDir(
  label: string,
  accounts: number,
  extra: Record<string, unknown>,
): { dir: string; configFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), `fg-${label}-`));
  const configFile = path.join(dir, 'fieldgate.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir: path.join(dir, 'data'),
      store: { url: `sqlite:${path.join(dir, 'store.sqlite')}` },
      billing: {
        url: `sqlite:${path.join(dir, 'billing.sqlite')}`,
        demo: { seedOnFirstRun: true, accounts, routes: 1, seed: 42 },
      },
      server: { port: 0 },
      auth: { createDemoToken: false, createDemoUsers: false },
      ...extra,
    }),
  );
  return { dir, configFile };
}

/** The demo admin API token from a demo's credentials file (dataDir/demo-credentials.txt), once it is there. */
export function demoToken(dataDir: string): string | undefined {
  const file = path.join(dataDir, 'demo-credentials.txt');
  if (!existsSync(file)) return undefined;
  return /^api\s+admin\s+\S+\s+(\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
}
