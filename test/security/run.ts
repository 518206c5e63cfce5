import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { gatewayClientId } from '../../src/flows/field/field-service.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { packageRoot } from '../../src/infra/config/paths.js';
import { freePort } from '../helpers/dock.js';
import { ownMosquitto } from '../helpers/mosquitto.js';
import { cmepLine } from '../tools/ami-fixtures.js';
import { Target, type Peaks } from './target.js';

/**
 * `npm run test:security`: the security probe's findings (issue 16, docs/security.md) replayed
 * against `fieldgate start` running as its own process on its defaults (the demo), class by
 * class, while /healthz is asked every 100 ms and the process's memory is read. A second gateway
 * on a Mosquitto set up with the documented ACL takes the external-broker classes. Prints one
 * row per class: tries, how many got through (must be 0), peak /healthz latency, peak RSS.
 * Exits 1 if anything got through, /healthz took 500 ms or more, RSS passed the bound, or a
 * gateway stopped on its own.
 */
const HEALTH_BOUND_MS = 500;
const RSS_BOUND_MB = 1024;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row extends Peaks {
  name: string;
  tries: number;
  through: number;
  note: string;
}
const rows: Row[] = [];
const failures: string[] = [];

async function attack(
  target: Target,
  name: string,
  run: () => Promise<{ tries: number; through: number; note?: string }>,
): Promise<void> {
  target.takePeaks();
  let result: { tries: number; through: number; note?: string };
  try {
    result = await run();
  } catch (err) {
    result = { tries: 1, through: 1, note: `the class failed: ${(err as Error).message}` };
  }
  await pause(300); // a last /healthz sample after the class
  const peaks = target.takePeaks();
  rows.push({ name, ...result, note: result.note ?? '', ...peaks });
  if (result.through) failures.push(`${name}: ${result.through} of ${result.tries} got through ${result.note ?? ''}`);
  if (peaks.healthMs >= HEALTH_BOUND_MS || peaks.healthFailures)
    failures.push(`${name}: /healthz peaked at ${peaks.healthMs.toFixed(0)} ms with ${peaks.healthFailures} failures`);
  if (peaks.rssMb >= RSS_BOUND_MB) failures.push(`${name}: RSS peaked at ${peaks.rssMb.toFixed(0)} MB`);
  if (!target.alive) failures.push(`${name}: the gateway exited (${target.exited})`);
  console.log(
    `  ${name}: ${result.through}/${result.tries} through, /healthz ≤ ${peaks.healthMs.toFixed(0)} ms, RSS ≤ ` +
      `${peaks.rssMb.toFixed(0)} MB ${result.note ?? ''}`,
  );
}

const mqttConnect = (url: string, opts: mqtt.IClientOptions) =>
  mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts }).then(
    (c) => ({ ok: true as const, client: c }),
    (err: Error & { code?: number }) => ({ ok: false as const, code: err.code }),
  );

async function waitUntil(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await pause(100);
  }
  return check();
}

const root = mkdtempSync(path.join(tmpdir(), 'fg-security-'));
const port = await freePort();
const mqttPort = await freePort();
const main = new Target(path.join(root, 'main'), {
  dataDir: path.join(root, 'main', 'data'),
  store: { url: `sqlite:${path.join(root, 'main', 'store.sqlite')}` },
  billing: {
    url: `sqlite:${path.join(root, 'main', 'billing.sqlite')}`,
    demo: { seedOnFirstRun: true, accounts: 300, routes: 2, seed: 42 },
  },
  server: { port },
  log: { level: 'info', format: 'json' },
  mqtt: { broker: { host: '127.0.0.1', port: mqttPort, portFallback: false } },
  ami: { dropPollMs: 200 },
});
console.log(`security suite: fieldgate start in ${root}`);
await main.start();
const brokerUrl = `mqtt://127.0.0.1:${mqttPort}`;
const secret = async (args: string[]) => (await main.cli(args)).stdout.trim().split('\n').pop()!;
const deviceSecrets = {
  'T-1': await secret(['devices', 'secret', 'T-1']),
  'T-2': await secret(['devices', 'secret', 'T-2']),
};
const mariaSecret = await secret(['mqtt-account', 'maria', '--role', 'csr']);
const techSecret = await secret(['mqtt-account', 'ann', '--role', 'tech']);
const radioSecret = await secret(['mqtt-account', 'R-1', '--role', 'radio']);
const billing = new Database(path.join(root, 'main', 'billing.sqlite'), { readonly: true });
const meter =
  (
    billing.prepare("select meter_id from cis_meters where meter_type = 'E' limit 1").get() as
      { meter_id: string } | undefined
  )?.meter_id ?? (billing.prepare('select meter_id from cis_meters limit 1').get() as { meter_id: string }).meter_id;
billing.close();
const inbox = path.join(main.dataDir, 'ami', 'inbox');
const cmepDay = (startIso: string) =>
  cmepLine(
    meter,
    'KWH',
    Array.from({ length: 96 }, (_, i) => ({
      startAt: Date.parse(startIso) / 1000 + i * 900,
      seconds: 900,
      value: 0.5,
      quality: 'A' as const,
      flags: null,
    })),
  );
const dropFile = (name: string, text: string) => {
  const tmp = path.join(inbox, `.${Date.now()}.part`);
  writeFileSync(tmp, text);
  renameSync(tmp, path.join(inbox, name));
};
const doneHas = (fragment: string) => readdirSync(path.join(inbox, 'done')).some((f) => f.includes(fragment));
const failedHas = (fragment: string) =>
  readdirSync(path.join(inbox, 'failed')).some((f) => f.includes(fragment) && !f.endsWith('.reason.txt'));

await attack(main, 'drop folder: file names of 240 and 250 characters', async () => {
  const names = [`${'a'.repeat(236)}.csv`, `${'b'.repeat(246)}.csv`];
  dropFile(names[0]!, cmepDay('2026-11-20T06:00:00Z'));
  dropFile(names[1]!, cmepDay('2026-11-21T06:00:00Z'));
  const moved = await waitUntil(
    () => names.every((n) => !existsSync(path.join(inbox, n))) && doneHas('aaaa') && doneHas('bbbb'),
    30_000,
  );
  return { tries: 2, through: moved && main.alive ? 0 : 2 };
});

await attack(main, 'drop folder: 200 MB in one line, then a valid file', async () => {
  const big = path.join(inbox, '.huge.part');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(big);
    out.on('error', reject);
    const chunk = '9'.repeat(1 << 20);
    out.write('MEPMD01,');
    let n = 0;
    const pump = () => {
      while (n < 200) {
        n++;
        if (!out.write(chunk)) return void out.once('drain', pump);
      }
      out.end(resolve);
    };
    pump();
  });
  renameSync(big, path.join(inbox, 'huge.csv'));
  await pause(300);
  dropFile('valid-after.csv', cmepDay('2026-11-22T06:00:00Z'));
  const started = Date.now();
  const ok = await waitUntil(() => failedHas('huge.csv') && doneHas('valid-after.csv'), 120_000);
  return {
    tries: 1,
    through: ok ? 0 : 1,
    note: `(both dealt with in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  };
});

await attack(main, 'MQTT: five CONNECTs announcing 200 MB before login', async () => {
  const rssBefore = main.rssMb();
  const results = await Promise.all(
    Array.from(
      { length: 5 },
      () =>
        new Promise<number>((resolve) => {
          const socket = createConnection({ host: '127.0.0.1', port: mqttPort });
          let written = 0;
          socket.on('connect', () => {
            socket.write(Buffer.from([0x10, 0x80, 0x84, 0xaf, 0x5f]));
            const chunk = Buffer.alloc(1 << 16, 1);
            const pump = () => {
              while (!socket.destroyed && written < 20 << 20 && socket.write(chunk)) written += chunk.length;
              if (written >= 20 << 20) socket.end();
            };
            socket.on('drain', pump);
            pump();
          });
          socket.on('error', () => undefined);
          socket.on('close', () => resolve(written));
        }),
    ),
  );
  const grew = main.rssMb() - rssBefore;
  const through = results.filter((w) => w >= 20 << 20).length + (grew > 100 ? 1 : 0);
  return { tries: 5, through, note: `(RSS ${grew >= 0 ? '+' : ''}${grew.toFixed(0)} MB)` };
});

const gatewayId = gatewayClientId({
  config: JSON.parse(readFileSync(main.configFile, 'utf8')) as GatewayContext['config'],
} as GatewayContext);
await attack(main, "MQTT (embedded): taking the gateway's or a device's session", async () => {
  const tries = [
    await mqttConnect(brokerUrl, { clientId: gatewayId, clean: false, username: 'maria', password: mariaSecret }),
    await mqttConnect(brokerUrl, {
      clientId: `${gatewayId}-1`,
      clean: false,
      username: 'maria',
      password: mariaSecret,
    }),
    await mqttConnect(brokerUrl, { clientId: gatewayId, clean: false, username: 'ann', password: techSecret }),
    await mqttConnect(brokerUrl, { clientId: 'T-1', clean: false, username: 'maria', password: mariaSecret }),
    await mqttConnect(brokerUrl, { clientId: 'T-1', clean: false, username: 'T-2', password: deviceSecrets['T-2'] }),
  ];
  for (const t of tries) if (t.ok) await t.client.endAsync(true);
  const health = (await (await fetch(`${main.url}/healthz`)).json()) as { checks: Record<string, string> };
  return { tries: tries.length, through: tries.filter((t) => t.ok).length + (health.checks.mqtt === 'ok' ? 0 : 1) };
});

await attack(main, "MQTT: a device's 100 KB retained message", async () => {
  const device = await mqttConnect(brokerUrl, { clientId: 'T-1', username: 'T-1', password: deviceSecrets['T-1'] });
  if (!device.ok) throw new Error(`T-1 could not log in (${device.code})`);
  device.client.publish('fieldgate/devices/T-1/status', JSON.stringify({ online: true, pad: 'p'.repeat(100_000) }), {
    qos: 1,
    retain: true,
  });
  await pause(500);
  await device.client.endAsync(true);
  const watcher = await mqttConnect(brokerUrl, { clientId: 'maria:watch', username: 'maria', password: mariaSecret });
  if (!watcher.ok) throw new Error('maria could not log in');
  let retainedBytes = 0;
  watcher.client.on(
    'message',
    (_t, payload, packet) => packet.retain && (retainedBytes = Math.max(retainedBytes, payload.length)),
  );
  await watcher.client.subscribeAsync('fieldgate/devices/T-1/status', { qos: 1 });
  await pause(500);
  await watcher.client.endAsync(true);
  return { tries: 1, through: retainedBytes > 16_384 ? 1 : 0 };
});

await attack(main, 'MQTT: one device floods bad 100 KB messages for 10 s', async () => {
  const sizeBefore = statSync(path.join(root, 'main', 'store.sqlite')).size;
  const device = await mqttConnect(brokerUrl, { clientId: 'T-2', username: 'T-2', password: deviceSecrets['T-2'] });
  if (!device.ok) throw new Error(`T-2 could not log in (${device.code})`);
  const junk = `{"batchId":"x","lines":"${'j'.repeat(100_000)}"}`;
  const until = Date.now() + 10_000;
  let sent = 0;
  while (Date.now() < until) {
    await Promise.all(
      Array.from({ length: 20 }, () => device.client.publishAsync('fieldgate/devices/T-2/readings', junk, { qos: 1 })),
    );
    sent += 20;
  }
  await device.client.endAsync();
  await pause(2000);
  const kept = main.query<{ n: number }>(
    "select count(*) as n from exceptions where source = 'mqtt' and kind = 'BAD_MESSAGE' and message like 'T-2 on %'",
  )[0]!.n;
  const summaries = main.query<{ n: number }>(
    "select count(*) as n from exceptions where kind = 'TOO_MANY_BAD_MESSAGES' and value = 'T-2'",
  )[0]!.n;
  const grewMb = (statSync(path.join(root, 'main', 'store.sqlite')).size - sizeBefore) / 1e6;
  const through = Math.max(0, kept - 20) + Math.max(0, summaries - 1) + (grewMb > 20 ? 1 : 0);
  return { tries: sent, through, note: `(${kept} kept + ${summaries} summary; store +${grewMb.toFixed(1)} MB)` };
});

await attack(main, 'rtlamr: reads dated year -271821 and 2099', async () => {
  const radio = await mqttConnect(brokerUrl, { clientId: 'R-1', username: 'R-1', password: radioSecret });
  if (!radio.ok) throw new Error('R-1 could not log in');
  const endpoint = main.query<{ n: number }>('select 1 as n').length; // the store is there
  for (const time of ['-271821-04-20T00:00:00Z', '2099-01-01T00:00:00Z']) {
    await radio.client.publishAsync(
      'fieldgate/rtlamr/R-1',
      JSON.stringify({ Time: time, Type: 'SCM', Message: { ID: 12345 + endpoint, Consumption: 5 } }),
      { qos: 1 },
    );
  }
  await radio.client.endAsync();
  await pause(1000);
  const odd = main.query<{ n: number }>(
    'select count(*) as n from ami_register_reads where read_at < 946684800 or read_at > 4102444800',
  )[0]!.n;
  const refused = main.query<{ n: number }>(
    "select count(*) as n from exceptions where source = 'ami-rtlamr' and field = 'Time'",
  )[0]!.n;
  return { tries: 2, through: odd + (refused === 2 ? 0 : 1) };
});

await attack(main, 'device ids with /, +, #, .. and nothing', async () => {
  let through = 0;
  for (const id of ['T-17/sub', '+', '#', '../x', ''])
    if ((await main.cli(['devices', 'secret', id])).code === 0) through++;
  return { tries: 5, through };
});

await attack(main, 'HTTP: 40 parallel wrong passwords for demo-admin', async () => {
  const statuses = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      fetch(`${main.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo-admin', password: `wrong ${i}` }),
      }).then((r) => r.status),
    ),
  );
  return {
    tries: 40,
    through: Math.max(0, statuses.filter((s) => s === 401).length - 5) + statuses.filter((s) => s >= 500).length,
  };
});

await attack(main, 'HTTP: 8 MB and 50 MB readings imports (audit, event loop)', async () => {
  let through = 0;
  for (const mb of [8, 50]) {
    const res = await main.api('POST', `/api/readings/import?name=import-${mb}mb.txt`, Buffer.alloc(mb << 20, 'Z'));
    if (res.status >= 500) through++;
    // The import answers before the operation wrapper writes its audit entry: wait for it.
    const audited = () =>
      main.query<{ detail: string }>(
        "select detail from audit_log where action = 'POST /readings/import' and detail like ? order by id desc " +
          'limit 1',
        `%import-${mb}mb.txt%`,
      )[0];
    await waitUntil(() => audited() !== undefined, 5000);
    const row = audited();
    if (!row || row.detail.length > 4096) through++;
  }
  return { tries: 2, through };
});

await attack(main, "HTTP: a technician reads another's work order", async () => {
  const created = (await (
    await main.api('POST', '/api/work-orders', { type: 'Investigation', notes: 'gate code 4711, 12 Elm St' })
  ).json()) as { orderNo: string; version: number };
  await main.api('POST', `/api/work-orders/${created.orderNo}/dispatch`, {
    version: created.version,
    technician: 'ann',
  });
  const tom = (await main.cli(['token', 'create', '--name', 'tom', '--role', 'tech'])).stdout.trim();
  let through = 0;
  for (let version = 1; version <= 5; version++) {
    const res = await fetch(`${main.url}/api/tech/orders/${created.orderNo}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tom}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'accepted', version }),
    });
    const text = await res.text();
    if (res.status !== 404 || text.includes('4711') || text.includes('Investigation')) through++;
  }
  return { tries: 5, through };
});

await attack(main, 'HTTP: encoded paths, broken cookies, impossible dates', async () => {
  const answers = [
    await fetch(`${main.url}/console/routes%2ehtml`, { redirect: 'manual' }).then((r) => r.status !== 302),
    await fetch(`${main.url}/console/exceptions%2Ehtml`, { redirect: 'manual' }).then((r) => r.status !== 302),
    await fetch(`${main.url}/console/%E0%A4%A.html`, { redirect: 'manual' }).then(
      (r) => r.status >= 500 || r.status === 200,
    ),
    await fetch(`${main.url}/api/routes`, { headers: { cookie: 'fg_session=%E0%A4%A' } }).then((r) => r.status !== 401),
    await main.api('GET', '/api/reports/exceptions?to=2026-13-45').then((r) => r.status !== 400),
    await main.api('GET', '/api/reports/prebill-ledger?cycle=2026-13').then((r) => r.status !== 400),
  ];
  return { tries: answers.length, through: answers.filter(Boolean).length };
});

await attack(main, 'secrets in the output, files readable by others', async () => {
  const credentials = readFileSync(path.join(main.dataDir, 'demo-credentials.txt'), 'utf8');
  const secrets = credentials
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/).pop()!);
  const leaked = secrets.filter((s) => main.output.includes(s)).length;
  const files = [
    main.dataDir,
    path.join(root, 'main', 'store.sqlite'),
    path.join(root, 'main', 'store.sqlite-wal'),
    path.join(main.dataDir, 'demo-credentials.txt'),
  ];
  const open = files.filter((f) => existsSync(f) && (statSync(f).mode & 0o077) !== 0).length;
  return { tries: secrets.length + files.length, through: leaked + open };
});

// The external broker as docs/mqtt.md sets it up: a gateway on Mosquitto with the project's ACL.
const users = { 'fieldgate-gw1': 'gw1-secret', maria: 'maria-secret', 'T-1': 'device-secret' };
const mosquitto = await ownMosquitto({
  secure: { users, aclFile: path.join(packageRoot, 'config', 'mosquitto', 'fieldgate.acl') },
});
const external = new Target(path.join(root, 'external'), {
  dataDir: path.join(root, 'external', 'data'),
  store: { url: `sqlite:${path.join(root, 'external', 'store.sqlite')}` },
  billing: {
    url: `sqlite:${path.join(root, 'external', 'billing.sqlite')}`,
    demo: { seedOnFirstRun: true, accounts: 100, routes: 1, seed: 42 },
  },
  server: { port: await freePort() },
  log: { level: 'info', format: 'json' },
  mqtt: { url: mosquitto.url, username: 'fieldgate-gw1', password: users['fieldgate-gw1'], consumers: 1 },
});
await external.start();
await attack(external, "MQTT (Mosquitto ACL): the gateway's session, another device's topics", async () => {
  const externalId = gatewayClientId({
    config: JSON.parse(readFileSync(external.configFile, 'utf8')) as GatewayContext['config'],
  } as GatewayContext);
  const intruder = await mqttConnect(mosquitto.url, {
    clientId: externalId,
    clean: false,
    protocolVersion: 5,
    username: 'maria',
    password: users.maria,
  });
  let stolen = 0;
  if (intruder.ok) {
    intruder.client.on('message', () => stolen++);
    await intruder.client.subscribeAsync('fieldgate/devices/+/readings', { qos: 1 }).catch(() => undefined);
  }
  const device = await mqttConnect(mosquitto.url, { protocolVersion: 5, username: 'T-1', password: users['T-1'] });
  if (!device.ok) throw new Error('T-1 could not log in to Mosquitto');
  await device.client.publishAsync('fieldgate/devices/T-2/readings', 'forged', { qos: 1 }).catch(() => undefined);
  await device.client.publishAsync('fieldgate/devices/T-1/readings', 'not json', { qos: 1 });
  const heard = await waitUntil(
    () =>
      external.query<{ n: number }>(
        "select count(*) as n from exceptions where kind = 'BAD_MESSAGE' and message like 'T-1 on %'",
      )[0]!.n === 1,
    15_000,
  );
  const forged = external.query<{ n: number }>("select count(*) as n from exceptions where message like 'T-2 on %'")[0]!
    .n;
  const health = (await (await fetch(`${external.url}/healthz`)).json()) as { checks: Record<string, string> };
  await device.client.endAsync(true);
  if (intruder.ok) await intruder.client.endAsync(true);
  return { tries: 3, through: stolen + forged + (heard ? 0 : 1) + (health.checks.mqtt === 'ok' ? 0 : 1) };
});
await external.stop();
await mosquitto.stop();

// Last, as it locks this address out of MQTT logins for the throttle's window.
await attack(main, 'MQTT: 800 wrong secrets for a known device', async () => {
  let accepted = 0;
  for (let wave = 0; wave < 20; wave++) {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        mqttConnect(brokerUrl, {
          clientId: 'T-1',
          username: 'T-1',
          password: `wrong-${wave}-${i}`,
          connectTimeout: 20_000,
        }),
      ),
    );
    for (const r of results) {
      if (!r.ok) continue;
      accepted++;
      await r.client.endAsync(true);
    }
  }
  return { tries: 800, through: accepted };
});

const stopMs = await main.stop();
const stopBound = 35_000;
rows.push({
  name: 'SIGTERM after all of it',
  tries: 1,
  through: stopMs < stopBound ? 0 : 1,
  note: `(stopped in ${(stopMs / 1000).toFixed(1)} s)`,
  healthMs: 0,
  rssMb: 0,
  healthFailures: 0,
});
if (stopMs >= stopBound) failures.push(`the gateway took ${stopMs} ms to stop`);
if (main.exited !== 0 && main.exited !== 'SIGTERM') failures.push(`the gateway exited with ${main.exited}`);

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`\n| ${'class'.padEnd(width)} | tries | got through | peak /healthz ms | peak RSS MB |`);
console.log(`|${'-'.repeat(width + 2)}|------:|------------:|-----------------:|------------:|`);
for (const r of rows)
  console.log(
    `| ${r.name.padEnd(width)} | ${String(r.tries).padStart(5)} | ${String(r.through).padStart(11)} | ` +
      `${r.healthMs ? r.healthMs.toFixed(0).padStart(16) : '-'.padStart(16)} | ` +
      `${r.rssMb ? r.rssMb.toFixed(0).padStart(11) : '-'.padStart(11)} |`,
  );
console.log(
  `\nbounds: nothing through, /healthz under ${HEALTH_BOUND_MS} ms throughout, RSS under ${RSS_BOUND_MB} MB, the ` +
    `gateway up until SIGTERM`,
);
if (failures.length) {
  console.log(
    `\nFAILED (${root} kept):\n  ${failures.join('\n  ')}\n\nlast gateway output:\n${main.output.slice(-3000)}`,
  );
  process.exit(1);
}
rmSync(root, { recursive: true, force: true });
console.log('security suite passed');
process.exit(0);
