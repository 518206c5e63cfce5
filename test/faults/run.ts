import { existsSync, writeFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { ownMosquitto } from '../helpers/mosquitto.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { checkCisFiles, checkInvariants, openDb } from './invariants.js';
import { describePlan, planRun, runSeeds, type RunPlan } from './plan.js';
import { dropAmiDay, GatewayApi, workAnOrder } from './traffic.js';
import { readRouteInTheApp } from './field-app-client.js';
import { prng } from '../../src/infra/billing/reference/seed-data.js';
import { PG_ADMIN, ROUTES, World, type Lane } from './world.js';

/**
 * `npm run test:faults`: randomized fault runs against the whole gateway (see world.ts), each
 * ending with the invariant checker (invariants.ts). Prints the suite's seed and every run's;
 * `npm run test:faults -- --seed <run seed>` replays one run's plan. Exits 1 on any violation.
 *
 *   --runs <n>         runs to make (default 50)
 *   --lanes <n>        runs at once, each lane with its own Mosquitto and PostgreSQL proxy (default 2)
 *   --suite-seed <n>   the seed the runs' seeds are drawn from (default: random, printed)
 *   --seed <n>         one run with this seed
 *   --budget <minutes> start no run after this long (default 10); fewer runs than asked is a failure
 *   --keep             keep slow runs' directories and databases too (a failed run's are always kept,
 *                      with the gateway's log, for a look at what happened)
 */
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const keep = args.includes('--keep');
const single = opt('seed');
const suiteSeed = Number(opt('suite-seed') ?? Math.floor(Math.random() * 1_000_000_000));
const seeds = single ? [Number(single)] : runSeeds(suiteSeed, Number(opt('runs') ?? 50));
const budgetMs = Number(opt('budget') ?? 10) * 60_000;
const lanes = Math.min(Number(opt('lanes') ?? 2), seeds.length);
const ZONE = 'America/Chicago';
const RUN_DEADLINE_MS = 75_000;
/** The run's meter reader's phone, as route assignment knows it. */
const APP_DEVICE = 'app.reader1';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!existsSync('/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1')) {
  console.error('test:faults needs libfaketime (apt-get install -y faketime; test/tools/ensure-tools.sh installs it)');
  process.exit(1);
}

console.log(
  single
    ? `fault suite: one run, seed ${single}`
    : `fault suite: ${seeds.length} runs in ${lanes} lanes, suite seed ${suiteSeed} (replay the suite with ` +
        `--suite-seed ${suiteSeed})`,
);

interface Outcome {
  seed: number;
  plan: RunPlan;
  violations: string[];
  ms: number;
  readings: number;
}

async function oneRun(plan: RunPlan, lane: Lane): Promise<Outcome> {
  const started = Date.now();
  const world = new World(plan, lane);
  const violations: string[] = [];
  let readings = 0;
  try {
    await world.setUp();
    await world.startGateway();
    const deadline = Date.now() + RUN_DEADLINE_MS;
    const api = new GatewayApi(world, deadline);
    await api.createFieldUsers();
    const billing = openDb(world.billingUrl);
    const amiMeters = (await billing('cis_registers as r')
      .join('cis_meters as m', 'm.meter_id', 'r.meter_id')
      .where({ 'm.route_code': ROUTES.ami, 'r.register_no': 1 })
      .orderBy('r.meter_id')
      .limit(10)
      .select('r.meter_id as meterId', 'r.uom')) as { meterId: string; uom: string }[];
    await billing.destroy();

    world.startSimulators();
    const assign = (route: string, device: string) =>
      api.until('POST', '/api/dock/assign', { route, device }, 'admin', (s) => s === 201);
    await assign(ROUTES.handheld, 'HH-0001');
    await assign(ROUTES.field, 'T-0001');
    await assign(ROUTES.app, APP_DEVICE);

    // The field's traffic and the faults, at once.
    const t0 = Date.now();
    const faults = (async () => {
      for (const f of plan.faults) {
        await pause(Math.max(0, t0 + f.at - Date.now()));
        await world.inject(f);
      }
    })();
    const orders = (async () => {
      const done: { orderNo: string; outcome: string }[] = [];
      for (let i = 1; i <= plan.workOrders; i++)
        done.push(await workAnOrder(api, `F${plan.seed % 1_000_000}-${i}`, () => new Date().toISOString()));
      return done;
    })();
    const firstDay = DateTime.fromISO('2026-10-01', { zone: ZONE });
    const drops = (async () => {
      for (let d = 0; d < plan.amiFiles; d++) {
        await pause(600 + Math.floor((d * 4000) / plan.amiFiles));
        const start = firstDay.plus({ days: d }).toUTC().toSeconds();
        while (!dropAmiDay(world, `day-${d}.csv`, amiMeters, start)) {
          if (Date.now() > deadline) throw new Error('the drop folder stayed full');
          await pause(300);
        }
      }
    })();
    const app = readRouteInTheApp(api, ROUTES.app, {
      seed: plan.seed,
      rnd: prng(plan.seed ^ 0x5eed),
      device: APP_DEVICE,
    });
    const [completed, , , appRun] = await Promise.all([orders, faults, drops, app]);
    world.note(
      `field app: ${appRun.readings.length} readings, ${appRun.photos} photos, ${appRun.resent} batch(es) resent`,
    );
    world.note('faults over; settling');
    await settle(world, api, deadline);
    violations.push(
      ...(await checkInvariants(
        {
          journalFile: world.journal,
          zone: ZONE,
          completedOrders: completed,
          app: appRun,
          ami: { meters: amiMeters.map((m) => m.meterId), days: plan.amiFiles },
        },
        world.storeUrl,
        world.billingUrl,
      )),
      ...(plan.billing === 'files' ? await checkCisFiles(world.exchangeDir, world.billingUrl) : []),
    );
    readings = world.journalLines() + appRun.readings.length;
    const refused = world.fieldRefused();
    if (refused.length)
      violations.push(
        `${refused.length} batch(es) refused by the gateway and set aside on T-0001: ${refused.join(', ')}`,
      );
  } catch (err) {
    violations.push(`run failed: ${(err as Error).message}`);
  }
  for (const line of world.log) if (line.includes('UNEXPECTED')) violations.push(line);
  const slow = Date.now() - started > 40_000;
  const kept = violations.length > 0 || (keep && slow);
  if (kept) writeFileSync(`${world.dir}/gateway.log`, world.gatewayLog());
  if (violations.length) {
    const quiet = /"message":"(job started|job finished|batch posted)"/;
    world.note(
      `gateway log (last 40 lines, job runs left out):\n${world
        .gatewayLog()
        .split('\n')
        .filter((l) => !quiet.test(l))
        .slice(-40)
        .join('\n')}`,
    );
    for (const sim of ['handheld', 'field-device']) world.note(`${sim} log (last 25 lines):\n${world.simLog(sim, 25)}`);
    world.note(
      `kept: ${world.dir} (gateway.log, handheld.log, field-device.log, journal.tsv; databases ` +
        `${world.plan.store === 'postgres' ? 'fgf_<seed>_store and ' : ''}fgf_<seed>_billing)`,
    );
  }
  await world.tearDown(kept).catch((e) => violations.push(`teardown: ${(e as Error).message}`));
  const outcome: Outcome = { seed: plan.seed, plan, violations, ms: Date.now() - started, readings };
  report(outcome, world);
  return outcome;
}

/**
 * Waits until the field's work has gone all the way: the hand-held's route cleared, the field
 * device's committed and its queue empty, the inbox empty, the outbox empty.
 */
async function settle(world: World, api: GatewayApi, deadline: number): Promise<void> {
  const store = openDb(world.storeUrl);
  try {
    let waiting = '';
    const since = Date.now();
    let lastNoted = '';
    for (;;) {
      const latest = (code: string) =>
        store('routes')
          .where({ route_code: code })
          .orderBy('id', 'desc')
          .first()
          .catch(() => null);
      const route = await latest(ROUTES.handheld);
      // The field device's route is done when its final batch is stored: a route that reached the
      // device late (offers held up by the faults) is read after them, and its readings count too.
      const fieldRoute = await latest(ROUTES.field);
      const appRoute = await latest(ROUTES.app);
      const pending = Number(
        (
          await store('outbox')
            .where({ status: 'pending' })
            .count({ n: '*' })
            .first()
            .catch(() => null)
        )?.n ?? -1,
      );
      const parts = [
        route?.state !== 'cleared' &&
          `route ${ROUTES.handheld} ${route?.state ?? 'unknown'} (not cleared from HH-0001)`,
        fieldRoute?.state !== 'committed' &&
          fieldRoute?.state !== 'cleared' &&
          `route ${ROUTES.field} ${fieldRoute?.state ?? 'unknown'} (readings not all in from T-0001)`,
        appRoute?.state !== 'committed' &&
          `route ${ROUTES.app} ${appRoute?.state ?? 'unknown'} (the field app's final batch not stored)`,
        world.fieldQueue().length > 0 && `${world.fieldQueue().length} batch(es) unacknowledged on T-0001`,
        world.inboxPending().length > 0 && `${world.inboxPending().length} AMI file(s) in the inbox`,
        pending !== 0 && `${pending} outbox row(s) pending`,
      ].filter(Boolean);
      if (parts.length === 0) return world.note(`settled in ${((Date.now() - since) / 1000).toFixed(1)} s`);
      waiting = parts.join('; ');
      if (waiting !== lastNoted) world.note(`waiting: ${(lastNoted = waiting)}`);
      // As a CSR would with "run now": the schedule (every 10 s in the suite) need not be waited for.
      if (pending > 0)
        await Promise.all(
          ['post-readings', 'post-field-work'].map((job) =>
            api.once('POST', `/api/jobs/${job}/run`, undefined, 'admin'),
          ),
        );
      if (Date.now() > deadline) throw new Error(`did not settle: ${waiting}`);
      await pause(250);
    }
  } finally {
    await store.destroy();
  }
}

function report(o: Outcome, world: World): void {
  const head =
    `run seed ${o.seed}: ${o.violations.length ? 'FAILED' : 'ok'} in ${(o.ms / 1000).toFixed(1)} s, ` +
    `${o.readings} readings — ${describePlan(o.plan)}`;
  if (!o.violations.length)
    return void console.log(
      o.ms > 40_000 || process.env.FAULTS_VERBOSE
        ? `${head}\n  timeline:\n${world.log.map((l) => `    ${l}`).join('\n')}`
        : head,
    );
  const violations = o.violations
    .slice(0, 25)
    .map((v) => `    - ${v}`)
    .join('\n');
  const timeline = world.log.map((l) => `    ${l}`).join('\n');
  console.log(
    `${head}\n  violations:\n${violations}\n  timeline:\n${timeline}\n` +
      `  replay: npm run test:faults -- --seed ${o.seed}`,
  );
}

const started = Date.now();
const laneList: Lane[] = [];
for (let i = 0; i < lanes; i++)
  laneList.push({
    mosquitto: await ownMosquitto(),
    proxy: await tcpProxy({ host: new URL(PG_ADMIN).hostname, port: Number(new URL(PG_ADMIN).port || 5432) }),
  });
const queue = [...seeds];
const outcomes: Outcome[] = [];
await Promise.all(
  laneList.map(async (lane) => {
    for (let seed = queue.shift(); seed !== undefined && Date.now() - started < budgetMs; seed = queue.shift())
      outcomes.push(await oneRun(planRun(seed), lane));
  }),
);
for (const lane of laneList) {
  await lane.mosquitto.stop();
  await lane.proxy.close();
}

const failed = outcomes.filter((o) => o.violations.length);
const kinds = new Map<string, number>();
for (const o of outcomes) for (const f of o.plan.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
console.log(
  `\n${outcomes.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s: ${outcomes.length - failed.length} ` +
    `ok, ${failed.length} with violations; ${outcomes.reduce((n, o) => n + o.readings, 0)} readings checked`,
);
console.log(`faults injected: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
if (failed.length) {
  console.log(`failing seeds: ${failed.map((o) => o.seed).join(' ')}`);
  // Again at the end, where a CI log's tail shows it: each failed run's plan and violations.
  for (const o of failed)
    console.log(
      `  ${o.seed} (${describePlan(o.plan)}):\n${o.violations
        .slice(0, 5)
        .map((v) => `    - ${v.slice(0, 400)}`)
        .join('\n')}`,
    );
}
const short = outcomes.length < seeds.length;
if (short)
  console.log(`only ${outcomes.length} of ${seeds.length} runs fitted in the ${budgetMs / 60_000}-minute budget`);
process.exit(failed.length || short ? 1 : 0);
