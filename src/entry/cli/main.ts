import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { exportRoute } from '../../flows/routes/export-route.js';
import { ALL_JOBS, findJob } from '../../../jobs/index.js';
import { seedReferenceBilling } from '../../infra/billing/reference/seed.js';
import { FileBilling } from '../../infra/billing/file-billing.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { AppError, ConfigError, errorMessage } from '../../errors.js';
import { createLogger, redact, type Logger } from '../../infra/log/logger.js';
import { fileLineSource } from '../../flows/readings/file-source.js';
import { importReadings } from '../../flows/readings/import-readings.js';
import { describeSchedules } from '../../flows/scheduler/scheduler.js';
import { runJob } from '../../flows/scheduler/runner.js';
import { recentRuns } from '../../infra/store/jobs-repo.js';
import { routeOverview } from '../../flows/routes/route-overview.js';
import { migrateStore } from '../../infra/store/store.js';
import { listExceptionsWithRoute } from '../../infra/store/exceptions-repo.js';
import { createToken, listTokens, revokeToken, ROLES, type Role } from '../../infra/store/tokens-repo.js';
import { prepare, startGateway } from '../gateway.js';
import { closeContext, openContext } from '../../flows/context.js';
import { layoutLoader, type GatewayContext } from '../../flows/context.js';
import { handleUnhandledRejections } from '../unhandled.js';
import { readRoute } from '../../flows/sim/read-route.js';
import { formatTable } from './output.js';
import { backupStore, restoreStore } from '../../infra/store/backup.js';
import { configReference } from '../../infra/config/reference.js';
import { registerAmiCommands } from './ami-cli.js';
import { registerUserCommands } from './user-cli.js';
import { registerPortalCommands } from './portal-cli.js';
import { registerReportCommand } from './report-cli.js';
import { registerDockCommands, type CliKit } from './dock-cli.js';
import { registerSimHandheld } from './sim-handheld-cli.js';
import { registerSimField } from './sim-field-cli.js';

/**
 * `fieldgate <command>`. Each command validates its input, does one thing, prints a result a
 * person can read (or JSON with --json), and exits non-zero with a clear message on failure.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('fieldgate')
    .description('Field and meter-reading integration gateway for water, electric and gas utilities')
    .option('-c, --config <file>', 'JSON config file whose keys override config/defaults.json (or FIELDGATE_CONFIG)')
    .showHelpAfterError()
    .exitOverride();

  const configOf = (cmd: Command): Config => loadConfig({ file: cmd.optsWithGlobals().config as string | undefined });
  const loggerFor = (config: Config, toStderr = true): Logger => createLogger({ ...config.log, toStderr });
  /** Opens the context for a command, runs it, and always closes the connections. */
  const withContext = async (
    cmd: Command,
    work: (ctx: GatewayContext) => Promise<void>,
    opts: { prepare?: boolean } = {},
  ) => {
    const config = configOf(cmd);
    // One id per CLI invocation on every log line, so a run can be followed through the log.
    const ctx = openContext(config, loggerFor(config).child({ cli: `${cmd.name()}-${randomUUID().slice(0, 8)}` }));
    try {
      if (opts.prepare !== false) await prepare(ctx);
      await work(ctx);
    } finally {
      await closeContext(ctx);
    }
  };
  const print = (json: boolean, value: unknown, text: () => string) =>
    console.log(json ? JSON.stringify(value, null, 2) : text());

  program
    .command('start')
    .description('run the gateway: migrate, seed the demo billing database on first run, schedule jobs, serve the API')
    .option('-p, --port <port>', 'HTTP port (overrides server.port)', (v) => Number(v))
    .option('--dock <port...>', 'dock ports to open besides dock.ports: serial device paths or tcp://host:port')
    .option(
      '--billing-files',
      'the demo in file mode: a mirror of the CIS in data/cis-mirror.sqlite, and the demo CIS exchanging route and ' +
        'readings files with the gateway in data/cis-exchange/',
    )
    .action(async (opts: { port?: number; dock?: string[]; billingFiles?: boolean }, cmd: Command) => {
      let config = loadConfig({
        file: cmd.optsWithGlobals().config as string | undefined,
        overrides: {
          ...(opts.port !== undefined ? { server: { port: opts.port } } : {}),
          ...(opts.billingFiles
            ? {
                billing: {
                  mode: 'files',
                  url: 'sqlite:./data/cis-mirror.sqlite',
                  files: { demoCisUrl: 'sqlite:./data/billing-demo.sqlite' },
                },
              }
            : {}),
        },
      });
      if (opts.dock)
        config = {
          ...config,
          dock: {
            ...config.dock,
            ports: [...config.dock.ports, ...opts.dock.map((path) => ({ path, baudRate: 115_200 }))],
          },
        };
      const log = loggerFor(config, false);
      handleUnhandledRejections(log);
      const gateway = await startGateway(openContext(config, log));
      const demo = gateway.demoCredentials;
      // Printed only to a person at a terminal; elsewhere (systemd's journal, a log file) only where they are.
      if (demo && process.stdout.isTTY) {
        if (demo.users.length) {
          console.log(
            `\nDemo users (passwords shown once, keep them): CSRs and admins at ${gateway.url}/console/, ` +
              `readers and technicians in the field app at ${gateway.url}/field/`,
          );
          for (const u of demo.users) console.log(`  ${u.role.padEnd(6)}  ${u.username.padEnd(11)}  ${u.password}`);
        }
        if (demo.token)
          console.log(
            `\nDemo admin API token (shown once, keep it):\n  ${demo.token}\n  curl -H "Authorization: Bearer ` +
              `${demo.token}" ${gateway.url}/api/routes\n`,
          );
        console.log(`(also in ${demo.file}, readable only by you: delete it once you have kept them)`);
      } else if (demo) {
        console.log(
          `demo console users and an admin API token are in ${demo.file} (readable only by this user; not printed, ` +
            `so no log keeps them)`,
        );
      }
      if (gateway.field)
        console.log(
          `field devices connect over MQTT to ${gateway.field.brokerUrl} (topics under ` +
            `${config.mqtt.prefix}/devices/<id>/)`,
        );
      console.log(`fieldgate is running at ${gateway.url}  (health: ${gateway.url}/healthz, stop with Ctrl-C)`);
      await new Promise<void>((resolve) => {
        const onSignal = (signal: string) => {
          log.info(`received ${signal}`, { module: 'gateway' });
          gateway.stop().then(resolve, resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
    });

  program
    .command('migrate')
    .description('create or update the gateway store tables')
    .action(async (_o, cmd: Command) =>
      withContext(
        cmd,
        async (ctx) => {
          const applied = await migrateStore(ctx.store.db);
          console.log(applied.length ? `applied: ${applied.join(', ')}` : 'store is up to date');
        },
        { prepare: false },
      ),
    );

  const config = program.command('config').description('check and show configuration');
  config
    .command('check')
    .description('validate the configuration and print it with secrets masked')
    .action((_o, cmd: Command) => {
      console.log(JSON.stringify(redact(configOf(cmd)), null, 2));
    });
  config
    .command('reference')
    .description('print the configuration reference (docs/config.md): every key, what it must be, its default')
    .action(() => {
      process.stdout.write(configReference());
    });

  const store = program.command('store').description('the gateway store: backup and restore');
  store
    .command('backup <file>')
    .description('copy the store to a new file, consistently, while the gateway runs (SQLite; PostgreSQL: pg_dump)')
    .action(async (file: string, _o, cmd: Command) => {
      const r = await backupStore(configOf(cmd).store.url, file);
      console.log(
        `store backed up to ${r.file}: ${r.bytes.toLocaleString('en-US')} bytes, ` +
          `${r.readings.toLocaleString('en-US')} readings, migrations up to ${r.migrations.at(-1)}`,
      );
    });
  store
    .command('restore <file>')
    .description('put a backup in place of the store (stop the gateway first; --force replaces an existing store)')
    .option('--force', 'replace the existing store')
    .action(async (file: string, opts: { force?: boolean }, cmd: Command) => {
      const r = await restoreStore(configOf(cmd).store.url, file, opts);
      console.log(
        `store restored from ${file}: ${r.readings.toLocaleString('en-US')} readings, migrations up to ` +
          `${r.migrations.at(-1)}; start the gateway to apply newer migrations`,
      );
    });

  const billing = program
    .command('billing')
    .description('the billing database (the reference demo CIS, or your own through the mapping)');
  billing
    .command('seed')
    .description(
      'create and seed the reference billing database (demo and tests); refuses to overwrite without --reset',
    )
    .option('--accounts <n>', 'number of accounts', (v) => Number(v), 5000)
    .option('--routes <n>', 'number of routes', (v) => Number(v), 10)
    .option('--seed <n>', 'random seed (same seed, same data)', (v) => Number(v), 42)
    .option('--today <date>', 'the date the data is seeded as of (YYYY-MM-DD)')
    .option('--reset', 'replace existing demo data')
    .action(
      async (opts: { accounts: number; routes: number; seed: number; today?: string; reset?: boolean }, cmd: Command) =>
        withContext(
          cmd,
          async (ctx) => {
            if (!Number.isInteger(opts.accounts) || opts.accounts < 1)
              throw new AppError('USAGE', '--accounts must be a whole number above 0', { field: 'accounts' });
            if (!Number.isInteger(opts.routes) || opts.routes < 1)
              throw new AppError('USAGE', '--routes must be a whole number above 0', { field: 'routes' });
            const today = opts.today ?? ctx.clock().toISOString().slice(0, 10);
            const summary = await seedReferenceBilling(ctx.billing.db, {
              accounts: opts.accounts,
              routes: opts.routes,
              seed: opts.seed,
              today,
              reset: opts.reset,
            });
            console.log(formatTable([summary]));
          },
          { prepare: false },
        ),
    );
  billing
    .command('check')
    .description(
      'check that every table and column of the billing mapping exists; in file mode, the exchange folders, the ' +
        'layout and a sample route record',
    )
    .action(async (_o, cmd: Command) =>
      withContext(
        cmd,
        async (ctx) => {
          if (ctx.billing instanceof FileBilling) {
            const report = await ctx.billing.checkFiles();
            console.log(report.lines.join('\n'));
            if (!report.ok) throw new AppError('BILLING_FILES', 'file mode is not ready: see the lines marked FAIL');
            return;
          }
          await ctx.billing.verify();
          console.log('billing mapping OK: every mapped table and column exists');
        },
        { prepare: false },
      ),
    );

  const routes = program.command('routes').description('meter-reading routes');
  routes
    .command('list')
    .description('routes in billing and their state in the gateway')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const rows = await routeOverview(ctx);
        print(Boolean(opts.json), rows, () => formatTable(rows));
      }),
    );
  routes
    .command('export <route>')
    .description('write a route file from billing and mark the route loaded')
    .option('-o, --out <file>', 'where to write the route file (default: <route>-<cycle>.txt)')
    .option('--device <id>', 'the device the route goes to (default FILE)')
    .option('--layout <name>', 'route layout in config/layouts (default layouts.route)')
    .option('--reload', 'replace a route that is already loaded (needs --reason)')
    .option('--reason <text>', 'why the route is re-loaded (recorded)')
    .action(
      async (
        route: string,
        opts: { out?: string; device?: string; layout?: string; reload?: boolean; reason?: string },
        cmd: Command,
      ) =>
        withContext(cmd, async (ctx) => {
          const routeInfo = await ctx.billing.getRoute(route);
          const out = opts.out ?? `${route}-${routeInfo?.nextReadDate.slice(0, 7) ?? 'route'}.txt`;
          const result = await exportRoute(ctx, {
            routeCode: route,
            out,
            deviceId: opts.device,
            layout: opts.layout,
            reload: opts.reload,
            reason: opts.reason,
            actor: 'cli',
          });
          console.log(
            `route ${route} (${result.route.cycle}): ${result.records} records, ${result.bytes} bytes written to ` +
              `${out}; state ${result.route.state} on ${result.route.device_id}`,
          );
        }),
    );

  const readings = program.command('readings').description('readings files from hand-helds');
  readings
    .command('import <file>')
    .description(
      'store a readings file: good lines stored, bad lines become exceptions; the same file twice is stored once',
    )
    .option('--route <code>', 'the route the file belongs to (default: found from its meters)')
    .option('--layout <name>', 'readings layout in config/layouts (default layouts.read)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { route?: string; layout?: string; json?: boolean }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const summary = await importReadings(ctx, await fileLineSource(file), {
          source: 'file',
          actor: 'cli',
          layout: opts.layout,
          route: opts.route ? { code: opts.route } : undefined,
        });
        print(Boolean(opts.json), summary, () =>
          summary.duplicateOf
            ? `${file} was imported already as batch ${summary.duplicateOf}; nothing changed`
            : `batch ${summary.batchId}` +
              (summary.route
                ? ` route ${summary.route.code} (${summary.route.cycle}) now ${summary.route.state}`
                : '') +
              ': ' +
              `${summary.lines} lines, ${summary.stored} stored (${summary.held} held for review, ` +
              `${summary.skipped} skipped), ${summary.rejected} rejected, ${summary.exceptions} exceptions`,
        );
      }),
    );

  program
    .command('exceptions')
    .description('the exception queue: bad lines, held reads, skips and trouble codes')
    .option('--route <code>', 'only this route')
    .option('--kind <kind>', 'only this kind, e.g. HIGH_READ')
    .option('--all', 'include resolved exceptions')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--json', 'print JSON')
    .action(
      async (opts: { route?: string; kind?: string; all?: boolean; limit: number; json?: boolean }, cmd: Command) =>
        withContext(cmd, async (ctx) => {
          const rows = await listExceptionsWithRoute(ctx.store.db, opts);
          print(Boolean(opts.json), rows, () => formatTable(rows));
        }),
    );

  const job = program.command('job').description('scheduled jobs');
  job
    .command('list')
    .description('jobs with their schedules, last and next runs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const rows = await Promise.all(
          describeSchedules(ctx, ALL_JOBS).map(async (s) => {
            const last = (await recentRuns(ctx.store.db, { job: s.name, limit: 1 }))[0];
            return {
              job: s.name,
              cron: s.cron ?? '',
              enabled: s.enabled,
              next_run: s.nextRun ?? '',
              last_run: last?.started_at ?? '',
              last_status: last?.status ?? '',
              last_counts: last?.counts ?? '',
              last_error: last?.error ?? '',
            };
          }),
        );
        print(Boolean(opts.json), rows, () => formatTable(rows));
      }),
    );
  job
    .command('run <name>')
    .description('run a job now (refused while another gateway runs it)')
    .action(async (name: string, _o, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const def = findJob(name);
        if (!def)
          throw new AppError('UNKNOWN_JOB', `no job '${name}' (known: ${ALL_JOBS.map((j) => j.name).join(', ')})`, {
            field: 'name',
          });
        const outcome = await runJob(ctx, def, { trigger: 'manual' });
        console.log(
          `${name} run ${outcome.runId}: ${outcome.status} ` +
            `${JSON.stringify(outcome.counts)}${outcome.error ? ` — ${outcome.error}` : ''}`,
        );
        if (outcome.status === 'failed') exitCode = 1;
      }),
    );

  const kit: CliKit = {
    configOf,
    withContext: (cmd, work) => withContext(cmd, work),
    print,
    fail: () => void (exitCode = 1),
  };
  registerDockCommands(program, kit);
  registerAmiCommands(program, kit);
  registerUserCommands(program, kit);
  registerPortalCommands(program, kit);
  registerReportCommand(program, kit);

  const sim = program.command('sim').description('simulators for trying fieldgate without field hardware');
  registerSimHandheld(sim, kit);
  registerSimField(sim, kit);
  sim
    .command('read-route <routeFile>')
    .description(
      "turn a route file into the readings file a meter reader's day would produce (skips, re-keys, high reads, GPS)",
    )
    .option('-o, --out <file>', 'where to write the readings file', 'readings.txt')
    .option('--start <iso>', 'when the reader starts (ISO-8601; default: 3 hours ago)')
    .option('--seed <n>', 'random seed (same seed, same day)', (v) => Number(v), 1)
    .option('--reader <id>', 'reader id written on each line', 'SIM01')
    .action(
      async (routeFile: string, opts: { out: string; start?: string; seed: number; reader: string }, cmd: Command) => {
        const config = configOf(cmd);
        const layouts = layoutLoader(config);
        const start = opts.start ? new Date(opts.start) : new Date(Date.now() - 3 * 3600_000);
        if (Number.isNaN(start.getTime()))
          throw new AppError('USAGE', `--start ${opts.start} is not an ISO-8601 time`, { field: 'start' });
        const route = await readFile(routeFile, 'latin1');
        const day = readRoute(route, {
          routeLayout: layouts(config.layouts.route),
          readLayout: layouts(config.layouts.read),
          zone: config.timeZone,
          start,
          seed: opts.seed,
          readerId: opts.reader,
          pace: 20,
        });
        await writeFile(opts.out, day.lines.map((l) => `${l}\r\n`).join(''), 'latin1');
        const count = (k: string) => day.kinds.filter((x) => x === k).length;
        console.log(
          `${day.lines.length} meters read into ${opts.out}: ${count('skip')} skipped, ${count('trouble')} trouble ` +
            `codes, ${count('high')} high reads, ${count('rekey')} re-keyed`,
        );
      },
    );

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('create a bearer token for the API (printed once)')
    .requiredOption('--name <name>', 'who or what uses it')
    .addOption(new Option('--role <role>', 'what it may do').choices([...ROLES]).makeOptionMandatory())
    .action(async (opts: { name: string; role: Role }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        console.log(await createToken(ctx.store.db, opts.name, opts.role, ctx.clock()));
      }),
    );

  token
    .command('list')
    .description('list API tokens by name and role, and whether they are revoked (the tokens themselves are not kept)')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const rows = await listTokens(ctx.store.db);
        print(
          Boolean(opts.json),
          rows,
          () =>
            rows
              .map(
                (t) =>
                  `${t.name.padEnd(24)} ${t.role.padEnd(6)} created ` +
                  `${t.createdAt}${t.revokedAt ? `  revoked ${t.revokedAt}` : ''}`,
              )
              .join('\n') || 'no tokens',
        );
      }),
    );
  token
    .command('revoke <name>')
    .description('revoke the API token of that name: refused from the next request on')
    .action(async (name: string, _o, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        if (!(await revokeToken(ctx.store.db, name, ctx.clock())))
          throw new AppError('NOT_FOUND', `no active token named '${name}' (fieldgate token list)`, {
            status: 404,
            field: 'name',
          });
        console.log(`token '${name}' revoked`);
      }),
    );

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      console.error(`fieldgate: ${err.message}`);
      return 2;
    }
    if (err instanceof AppError) {
      console.error(`fieldgate: ${errorMessage(err)}`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    console.error(`fieldgate: ${errorMessage(err)}`);
    return 1;
  }
}
