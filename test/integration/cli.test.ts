import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { demoToken, runCli, spawnCli } from '../helpers/cli.js';

/** The CLI as a CSR or IT person meets it: clear messages, non-zero exits, nothing half-written. */
describe('fieldgate CLI', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'fg-cli-'));
    const seeded = await runCli(['billing', 'seed', '--accounts', '300', '--routes', '3', '--today', '2026-11-23'], {
      cwd,
    });
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/accounts\s+meters[\s\S]*300\s+300/);
  });
  afterAll(() => undefined);

  it('has --help on every command', async () => {
    const help = await runCli(['routes', 'export', '--help'], { cwd });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: fieldgate routes export \[options\] <route>/);
    expect(help.stdout).toMatch(/--reload/);
  });

  it('stops on bad config with the key and what was expected (exit 2)', async () => {
    writeFileSync(path.join(cwd, 'bad.json'), JSON.stringify({ server: { port: 'http' }, timeZone: 'Central' }));
    const r = await runCli(['--config', 'bad.json', 'routes', 'list'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid configuration \(config\/defaults.json \+ bad.json \+ environment\)/);
    expect(r.stderr).toMatch(/timeZone: expected an IANA time zone/);
    expect(r.stderr).toMatch(/server.port: Invalid input: expected number, received string/);
  });

  it('exports a route file and refuses a second load without a reason', async () => {
    const r = await runCli(['routes', 'export', 'R01', '--out', 'R01.txt'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/route R01 \(2026-11\): \d+ records, \d+ bytes written to R01.txt; state loaded on FILE/);
    expect(readFileSync(path.join(cwd, 'R01.txt'), 'latin1').split('\r\n')[0]).toHaveLength(174);
    const again = await runCli(['routes', 'export', 'R01', '--out', 'R01-again.txt'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/route R01 \(2026-11\) is loaded on FILE since .*; re-load it with a reason/);
    expect(existsSync(path.join(cwd, 'R01-again.txt'))).toBe(false);
    expect(readdirSync(cwd).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('imports a malformed readings file: exceptions for the bad lines, and says so', async () => {
    writeFileSync(path.join(cwd, 'junk.txt'), 'this is not a readings file\r\nnor is this\r\n');
    const r = await runCli(['readings', 'import', 'junk.txt', '--route', 'R01'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 lines, 0 stored .* 2 rejected/);
    const ex = await runCli(['exceptions', '--kind', 'LINE_LENGTH', '--json'], { cwd });
    expect(JSON.parse(ex.stdout)).toEqual([
      expect.objectContaining({
        line: 1,
        kind: 'LINE_LENGTH',
        field: '(line)',
        message: 'line is 27 characters, layout read-v1 needs 139',
      }),
      expect.objectContaining({ line: 2, kind: 'LINE_LENGTH', field: '(line)' }),
    ]);
    const again = await runCli(['readings', 'import', 'junk.txt', '--route', 'R01'], { cwd });
    expect(again.stdout).toMatch(/junk.txt was imported already as batch \d+; nothing changed/);
  });

  it(
    'imports AMI files in a worker: a refused file says why, the same file twice changes nothing, a stranger is ' +
      'named',
    async () => {
      const xxe = path.resolve('test/fixtures/ami/espi-xxe.xml');
      const r = await runCli(['ami', 'import', xxe], { cwd });
      // Refused: nothing stored, so the file failed and the command says so in its exit code.
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(
        /^refused: espi-xxe\.xml \(espi, batch \d+\): 0 intervals received, 0 stored, .* 1 exceptions \(REFUSED 1\)/m,
      );
      const again = await runCli(['ami', 'import', xxe], { cwd });
      expect(again.stdout).toMatch(/espi-xxe\.xml: imported already as batch \d+; nothing changed/);
      writeFileSync(path.join(cwd, 'notes.txt'), 'hello\n');
      const odd = await runCli(['ami', 'import', 'notes.txt'], { cwd });
      expect(odd.code).toBe(1);
      expect(odd.stdout).toMatch(/notes\.txt: not CMEP \(MEPMD01\), Green Button ESPI XML or NEM12/);
    },
  );

  it('imports every AMI file it is given, past a bad one, and ends with a table and exit 1 if any failed', async () => {
    const basic = path.resolve('test/fixtures/ami/nem12-basic.csv');
    writeFileSync(path.join(cwd, 'empty.csv'), '');
    const r = await runCli(['ami', 'import', 'empty.csv', basic, 'missing.csv'], { cwd });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^empty\.csv: not CMEP \(MEPMD01\), Green Button ESPI XML or NEM12: the file is empty/m);
    expect(r.stdout).toMatch(/^cannot read missing\.csv: ENOENT/m);
    const table = r.stdout.slice(r.stdout.indexOf('\nfile'));
    expect(
      table
        .split('\n')
        .filter((l) => /\.csv/.test(l))
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([
      ['empty.csv', '-', '0', '0', '0', 'failed'],
      ['nem12-basic.csv', 'nem12', '96', '96', '0', 'done'],
      ['missing.csv', '-', '0', '0', '0', 'failed'],
    ]);
  });

  it('says when the readings file is not there (exit 1)', async () => {
    const r = await runCli(['readings', 'import', 'nope.txt'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read nope.txt: ENOENT/);
  });

  it('names the missing billing table and writes nothing', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'fg-cli-nobill-'));
    writeFileSync(
      path.join(other, 'cfg.json'),
      JSON.stringify({ billing: { mapping: { meters: { table: 'cis_meter_master' } } } }),
    );
    await runCli(['billing', 'seed', '--accounts', '10', '--routes', '1'], { cwd: other });
    const r = await runCli(['--config', 'cfg.json', 'routes', 'export', 'R01', '--out', 'x.txt'], { cwd: other });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        /billing mapping 'meters': table cis_meter_master with columns meter_id, .* cannot be read: /.source +
          /no such table: cis_meter_master/.source,
      ),
    );
    expect(existsSync(path.join(other, 'x.txt'))).toBe(false);
  });

  it('lists jobs with their next run', async () => {
    const r = await runCli(['job', 'list', '--json'], { cwd });
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({
        job: 'post-readings',
        cron: '*/15 * * * *',
        enabled: true,
        next_run: expect.stringMatching(/^\d{4}-/),
      }),
      // Off until a head-end is configured: no next run.
      expect.objectContaining({ job: 'pull-headend', enabled: false, next_run: '' }),
      expect.objectContaining({
        job: 'pull-service-orders',
        cron: '*/10 * * * *',
        enabled: true,
        next_run: expect.stringMatching(/^\d{4}-/),
      }),
      expect.objectContaining({
        job: 'post-field-work',
        cron: '*/15 * * * *',
        enabled: true,
        next_run: expect.stringMatching(/^\d{4}-/),
      }),
      expect.objectContaining({ job: 'past-due', cron: '0 6 * * *', enabled: true }),
      expect.objectContaining({ job: 'silent-meters', cron: '17 * * * *', enabled: true }),
      expect.objectContaining({ job: 'reprocess-suspense', cron: '*/5 * * * *', enabled: true }),
      expect.objectContaining({ job: 'ami-partitions', cron: '41 0 * * *', enabled: true }),
      expect.objectContaining({ job: 'usage-alerts', cron: '23 7 * * *', enabled: true }),
      expect.objectContaining({ job: 'pull-routes', cron: '*/10 * * * *', enabled: true }),
    ]);
  });
});

describe('fieldgate portal', () => {
  it('makes an invitation code for an account, and a Connect My Data third party, each shown once', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'fg-portal-cli-'));
    expect(
      (await runCli(['billing', 'seed', '--accounts', '20', '--routes', '1', '--today', '2026-11-23'], { cwd })).code,
    ).toBe(0);
    const billing = new Database(path.join(cwd, 'data', 'billing-demo.sqlite'), { readonly: true });
    const { account_no: account } = billing.prepare('select account_no from cis_accounts order by 1 limit 1').get() as {
      account_no: string;
    };
    billing.close();
    const invite = await runCli(['portal', 'invite', account, '--json'], { cwd });
    expect(invite.code, invite.stderr).toBe(0);
    expect(JSON.parse(invite.stdout)).toMatchObject({
      accountNo: account,
      code: expect.stringMatching(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){2}$/),
    });
    const unknown = await runCli(['portal', 'invite', '9999999-99'], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/billing has no account 9999999-99/);
    const app = await runCli(
      [
        'portal',
        'app-add',
        'Energy Helper',
        '--redirect-uri',
        'https://helper.example/cb',
        '--scope',
        'FB=1_3_4_5_13_14_39;IntervalDuration=3600',
      ],
      { cwd },
    );
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/^client id: +gb-\S+$/m);
    expect(app.stdout).toMatch(/^client secret: \S{40,} +\(shown once\)$/m);
    const plain = await runCli(
      ['portal', 'app-add', 'X', '--redirect-uri', 'http://helper.example/cb', '--scope', 'FB=1'],
      { cwd },
    );
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/redirect URI http:\/\/helper.example\/cb: https, or http on localhost/);
  });
});

describe('fieldgate billing check in file mode', () => {
  it('checks the folders and the layout, reads a sample route record, and says FAIL with exit 1 when it is bad', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'fg-files-cli-'));
    const env = { FIELDGATE_BILLING__MODE: 'files', FIELDGATE_BILLING__URL: 'sqlite:./data/cis-mirror.sqlite' };
    const empty = await runCli(['billing', 'check'], { cwd, env });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/^ok {4}routes-in\/ writable/m);
    expect(empty.stdout).toMatch(/^ok {4}layout cis-csv: 25 route columns, 13 readings columns$/m);
    expect(empty.stdout).toMatch(/^- {5}no route export yet/m);
    writeFileSync(
      path.join(cwd, 'data', 'cis-exchange', 'routes-in', 'R1.csv'),
      'ROUTE,ACCOUNT,METER,REGISTER,DIALS,PREV_READ,PREV_READ_DATE\r\nR1,A1,M1,1,4,12000,2026-10-23\r\nTRAILER,1\r\n',
    );
    const bad = await runCli(['billing', 'check'], { cwd, env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL {2}R1\.csv line 2: prevRead: a 4-dial register reads at most 9999$/m);
    expect(bad.stderr).toMatch(/file mode is not ready/);
  });
});

describe('fieldgate start', () => {
  it('serves /healthz and an authenticated API on a seeded demo, and stops cleanly on SIGTERM', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'fg-start-'));
    const child = spawnCli(['start', '--port', '0'], {
      cwd,
      env: { FIELDGATE_BILLING__DEMO__ACCOUNTS: '500', FIELDGATE_BILLING__DEMO__ROUTES: '2', LOG_LEVEL: 'info' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 30_000;
    while (!/running at (http:\/\/\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /running at (http:\/\/\S+)/.exec(out)?.[1];
    expect(url, out).toBeDefined();
    // Not a terminal: the demo's secrets go to a file only this user can read, never to the output a log keeps.
    const token = demoToken(path.join(cwd, 'data'));
    expect(token).toMatch(/^fg_/);
    expect(out).toContain(
      `demo console users and an admin API token are in ${path.join(cwd, 'data', 'demo-credentials.txt')}`,
    );
    expect(out).not.toContain(token);
    expect(statSync(path.join(cwd, 'data', 'demo-credentials.txt')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(cwd, 'data')).mode & 0o777).toBe(0o700);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: 'ok',
      checks: { store: 'ok', billing: 'ok', dock: 'ok', mqtt: 'ok', ami: 'ok' },
    });
    const anonymous = await fetch(`${url}/api/routes`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({
      error: {
        code: 'UNAUTHENTICATED',
        message: 'log in, or send a bearer token: Authorization: Bearer <token>',
        field: null,
      },
    });
    const routes = await fetch(`${url}/api/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(routes.status).toBe(200);
    expect(((await routes.json()) as { items: unknown[] }).items[0]).toMatchObject({
      name: 'post-readings',
      enabled: true,
    });
    const bad = await fetch(`${url}/api/exceptions?limit=abc`, { headers: { authorization: `Bearer ${token}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ code: 'INVALID_INPUT', field: 'limit' });

    // The demo's console users, in the credentials file: the CSR's password logs in.
    const credentials = readFileSync(path.join(cwd, 'data', 'demo-credentials.txt'), 'utf8');
    const csrPassword = /^console\s+csr\s+demo-csr\s+(\S+)$/m.exec(credentials)?.[1];
    expect(csrPassword, credentials).toMatch(/^\w{18,}$/);
    expect(credentials).toMatch(/^field\s+tech\s+demo-tech\s+\S+$/m);
    expect(credentials).toMatch(/^field\s+reader\s+demo-reader\s+\S+$/m);
    expect(out).not.toContain(csrPassword);
    const login = await fetch(`${url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo-csr', password: csrPassword }),
    });
    expect(login.status).toBe(201);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${url}/console/exceptions.html`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Exceptions · fieldgate</title>');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/gateway stopped/);

    // An admin adds a user from the CLI; the password is shown once.
    const added = await runCli(['user', 'add', 'maria', '--role', 'csr', '--name', 'Maria Lopez'], { cwd });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^user maria \(csr\) added; password \(shown once\): \S{18,}\n$/);
    const list = JSON.parse((await runCli(['user', 'list', '--json'], { cwd })).stdout) as {
      username: string;
      role: string;
    }[];
    expect(list.map((u) => `${u.username}:${u.role}`)).toEqual([
      'demo-admin:admin',
      'demo-csr:csr',
      'demo-reader:reader',
      'demo-tech:tech',
      'maria:csr',
    ]);
    const dup = await runCli(['user', 'add', 'maria', '--role', 'csr'], { cwd });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("a user named 'maria' exists already");
  });
});
