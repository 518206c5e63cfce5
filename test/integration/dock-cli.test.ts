import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { demoToken, runCli, spawnCli } from '../helpers/cli.js';
import { freePort, waitFor } from '../helpers/dock.js';

/**
 * The README's docking walk-through as a person types it: the gateway started with a dock on
 * tcp://, the simulator on the other end reading each route after it loads, a CSR assigning a
 * route with `fieldgate dock assign` and following it with `fieldgate dock status`.
 */
describe('docking from the command line', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  });

  function spawnTracked(args: string[], cwd: string): { child: ChildProcessWithoutNullStreams; output: () => string } {
    const child = spawnCli(args, { cwd, env: { LOG_LEVEL: 'warn' } });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return { child, output: () => out };
  }

  it('start --dock, sim handheld, dock assign, dock status: the route loads, is read, unloads and clears', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-dockcli-'));
    writeFileSync(
      path.join(dir, 'fieldgate.json'),
      JSON.stringify({
        server: { port: 0 },
        billing: { demo: { seedOnFirstRun: true, accounts: 300, routes: 2, seed: 42 } },
      }),
    );
    const port = `tcp://127.0.0.1:${await freePort()}`;
    const config = ['--config', 'fieldgate.json'];
    const sim = spawnTracked(
      [...config, 'sim', 'handheld', '--port', port, '--device', 'HH-0042', '--read-after-load', '1'],
      dir,
    );
    const gateway = spawnTracked([...config, 'start', '--dock', port], dir);
    const url = await waitFor(() => /fieldgate is running at (\S+)/.exec(gateway.output())?.[1], 'the gateway URL');
    const token = await waitFor(() => demoToken(path.join(dir, 'data')), 'the demo token');
    await waitFor(() => sim.output().includes('welcomed'), 'the hand-held to be welcomed');

    const assigned = await runCli([...config, 'dock', 'assign', 'R01', 'HH-0042'], { cwd: dir });
    expect(assigned.stdout).toContain('route R01 assigned to HH-0042');
    await waitFor(
      () => sim.output().includes('route R01 cleared by the gateway'),
      'R01 to go round the whole day',
      30_000,
    );
    expect(sim.output()).toMatch(/route R01 loaded: \d+ records[\s\S]*read route R01[\s\S]*unloading readings of R01/);

    const status = await runCli([...config, 'dock', 'status', '--url', url, '--token', token], { cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/dock1 {2}tcp:\/\/127\.0\.0\.1:\d+ {2}docked/);
    expect(status.stdout).toContain('device HH-0042 (SIM-1 fw 1.0.0), battery 87%');
    expect(status.stdout).toMatch(/last: .*route R01 cleared from HH-0042/);

    const routes = await runCli([...config, 'routes', 'list', '--json'], { cwd: dir });
    expect(JSON.parse(routes.stdout).find((r: { route: string }) => r.route === 'R01')).toMatchObject({
      state: 'cleared',
    });
    const commands = await runCli([...config, 'dock', 'commands', '--json'], { cwd: dir });
    expect(JSON.parse(commands.stdout)[0]).toMatchObject({ route_code: 'R01', command: 'load', status: 'done' });

    const noToken = await runCli([...config, 'dock', 'status', '--url', url], {
      cwd: dir,
      env: { FIELDGATE_TOKEN: undefined },
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('needs an API token');
  });
});
