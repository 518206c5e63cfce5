import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DockRun } from './dock-run.js';

/**
 * `npm run bench`: fieldgate's throughput against naive baselines measured in the same run,
 * on SQLite and (when DATABASE_URL is set) PostgreSQL. Each case runs in its own process so
 * its peak RSS is its own. Row-by-row baselines run on a subset: their rate is per row.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_READINGS ?? 100_000);
const BASELINE_N = Number(process.env.BENCH_BASELINE_ROWS ?? 20_000);

interface Result {
  items: number;
  seconds: number;
  rate: number;
  peakRssMb: number;
}

function run(name: string, dialect: string, dir: string, n = N): Result {
  return caseResult<Result>('readings-cases.js', name, dialect, dir, String(n));
}

/** Runs one bench case in a process of its own (so its peak RSS is its own) and returns the JSON it printed last. */
function caseResult<T>(script: string, ...args: string[]): T {
  const out = execFileSync(process.execPath, [path.join(here, script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

const rows: string[][] = [];
// BENCH_ONLY=readings or BENCH_ONLY=dock runs one table.
const only = process.env.BENCH_ONLY;
const dialects =
  only !== undefined && only !== 'readings' ? [] : ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];
for (const dialect of dialects) {
  const dir = mkdtempSync(path.join(tmpdir(), `fg-bench-${dialect}-`));
  try {
    process.stderr.write(`[${dialect}] preparing ${N} meters and a readings file…\n`);
    run('prepare', dialect, dir);
    process.stderr.write(`[${dialect}] import…\n`);
    const imp = run('import', dialect, dir);
    const impNaive = run('import-naive', dialect, dir, BASELINE_N);
    process.stderr.write(`[${dialect}] post-readings…\n`);
    // The baseline copies its reads from the queue the batched run is about to empty: run it first.
    const postNaive = run('post-naive', dialect, dir, BASELINE_N);
    const post = run('post', dialect, dir);
    const fmt = (r: Result) => [
      r.items.toLocaleString('en-US'),
      r.seconds.toFixed(2),
      Math.round(r.rate).toLocaleString('en-US'),
      r.peakRssMb.toFixed(0),
    ];
    rows.push([`import readings file (${dialect})`, ...fmt(imp), `${(imp.rate / impNaive.rate).toFixed(1)}×`]);
    rows.push([`  baseline: decode + insert row by row`, ...fmt(impNaive), '1.0×']);
    rows.push([`post-readings to billing (${dialect})`, ...fmt(post), `${(post.rate / postNaive.rate).toFixed(1)}×`]);
    rows.push([`  baseline: same job, row by row`, ...fmt(postNaive), '1.0×']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (dialect === 'postgres') await dropBenchDatabases();
  }
}

/** The bench's PostgreSQL databases are scratch: drop them as the tests drop theirs. */
async function dropBenchDatabases(): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  for (const kind of ['store', 'billing']) {
    for (const tag of ['base', 'imp', 'naive'])
      await client.query(`drop database if exists fg_bench_${kind}_${tag} with (force)`);
  }
  await client.end();
}

if (rows.length) printTable(['case', 'items', 'seconds', 'items/s', 'peak RSS MB', 'vs baseline'], rows);
console.log('');
if (only === undefined || only === 'dock')
  printTable(
    ['dock (FDP/1 over socat PTYs, 1,000-meter route)', 'file bytes', 'seconds', 'useful B/s', 'vs line / baseline'],
    dockRows(),
  );

if ((only === undefined || only === 'mqtt') && process.env.MQTT_URL && process.env.DATABASE_URL) {
  console.log('');
  printTable(
    [
      'MQTT ingest (100 devices, QoS 1, Mosquitto, PostgreSQL)',
      'readings',
      'seconds',
      'readings/s',
      'p50 ms',
      'p99 ms',
      'vs one gateway',
      'gateway CPU s / 1,000',
      'PostgreSQL CPU s / 1,000',
    ],
    mqttRows(),
  );
}

if (only === undefined || only === 'ami') {
  console.log('');
  printTable(
    [
      'AMI import, end to end (parse + VEE + store + daily reads)',
      'intervals',
      'seconds',
      'intervals/s',
      'peak RSS MB',
      'vs baseline',
      "of the store's limit",
    ],
    amiRows(),
  );
}

/**
 * AMI: CMEP and ESPI files of BENCH_AMI_INTERVALS (10 million) into SQLite and PostgreSQL, each
 * against the naive way in the same run (xml2js on the whole document, one knex insert per
 * interval, on a small file: its rate is per interval), and a 300 MB ESPI file's peak RSS.
 */
function amiRows(): string[][] {
  const n = Number(process.env.BENCH_AMI_INTERVALS ?? 10_000_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-ami-'));
  const ami = (...args: string[]): Result => {
    return caseResult<Result>('ami-cases.js', ...args);
  };
  const out: string[][] = [];
  try {
    process.stderr.write(`[ami] writing CMEP and ESPI files of ${n.toLocaleString('en-US')} intervals…\n`);
    ami('prepare', dir, String(n), process.env.BENCH_AMI_BASELINE ?? '10000');
    const fmt = (r: Result) => [
      r.items.toLocaleString('en-US'),
      r.seconds.toFixed(1),
      Math.round(r.rate).toLocaleString('en-US'),
      r.peakRssMb.toFixed(0),
    ];
    for (const dialect of ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])]) {
      process.stderr.write(`[ami] ${dialect}: the store's limit, baseline, CMEP, ESPI…\n`);
      const raw = ami('raw', dialect, dir);
      const base = ami('baseline', dialect, dir);
      const share = (r: Result) => `${((100 * r.rate) / raw.rate).toFixed(0)}%`;
      for (const format of ['cmep', 'espi']) {
        const r = ami('import', format, dialect, dir);
        const split = ami('import-split', format, dialect, dir);
        out.push([
          `${format.toUpperCase()} into ${dialect}`,
          ...fmt(r),
          `${(r.rate / base.rate).toFixed(0)}×`,
          share(r),
        ]);
        out.push([
          `${format.toUpperCase()} into ${dialect}, two files by meter range at once`,
          ...fmt(split),
          `${(split.rate / base.rate).toFixed(0)}×`,
          share(split),
        ]);
      }
      out.push([`  baseline: xml2js whole document, knex row by row (${dialect})`, ...fmt(base), '1×', share(base)]);
      const limit = dialect === 'postgres' ? 'raw COPY, rows made in memory' : 'raw prepared insert, one transaction';
      out.push([`  the store's limit: ${limit} (${dialect})`, ...fmt(raw), '', '100%']);
    }
    process.stderr.write('[ami] a 300 MB ESPI file…\n');
    const large = ami('prepare-large', dir, process.env.BENCH_AMI_LARGE_MB ?? '300');
    const r = ami('import', 'espi-large', 'sqlite', dir);
    out.push([`ESPI file of ${Math.round(large.items).toLocaleString('en-US')} MB into sqlite`, ...fmt(r), '', '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (only === undefined || only === 'radio') {
  console.log('');
  printTable(
    [
      'radio reads over MQTT into the store (embedded broker, SQLite)',
      'messages',
      'seconds',
      'messages/s',
      'peak RSS MB',
      'vs rtlamr',
    ],
    radioRows(),
  );
}

/**
 * Radio reads: wmbusmeters telegrams against rtlamr SCM reads through the same gateway, broker
 * and store in the same run, each message one register read; and wmbusmeters with every
 * telegram heard by two receivers (half the messages are the same reading again).
 */
function radioRows(): string[][] {
  const radio = (kind: string) => caseResult<Result & { stored: number; duplicates: number }>('radio-cases.js', kind);
  process.stderr.write('[radio] rtlamr, wmbusmeters, wmbusmeters heard twice…\n');
  const rtlamr = radio('rtlamr');
  const wmbus = radio('wmbusmeters');
  const twice = radio('wmbusmeters-twice');
  const row = (label: string, r: Result & { stored: number; duplicates: number }) => [
    `${label} (${r.stored.toLocaleString('en-US')} stored, ${r.duplicates.toLocaleString('en-US')} duplicates)`,
    r.items.toLocaleString('en-US'),
    r.seconds.toFixed(1),
    Math.round(r.rate).toLocaleString('en-US'),
    r.peakRssMb.toFixed(0),
    `${(r.rate / rtlamr.rate).toFixed(2)}×`,
  ];
  return [
    row('wmbusmeters telegrams, one receiver each', wmbus),
    row('wmbusmeters telegrams, each heard by two receivers', twice),
    row('  rtlamr SCM reads', rtlamr),
  ];
}

if (only === undefined || only === 'fieldwork') {
  console.log('');
  printTable(
    [
      'completed work orders to billing (post-field-work)',
      'completions',
      'seconds',
      'completions/s',
      'peak RSS MB',
      'vs baseline',
    ],
    await fieldworkRows(),
  );
}

/** Completions posted by the job in batches against the same job row by row (on fewer rows: its rate is per row). */
async function fieldworkRows(): Promise<string[][]> {
  const n = Number(process.env.BENCH_COMPLETIONS ?? 20_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-fw-'));
  const out: string[][] = [];
  try {
    for (const dialect of ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])]) {
      process.stderr.write(`[fieldwork] ${dialect}…\n`);
      const run = (name: string, count: number): Result =>
        caseResult<Result>('fieldwork-cases.js', name, dialect, dir, String(count));
      const job = run('post', n);
      const naive = run('post-naive', BASELINE_N);
      const fmt = (r: Result) => [
        r.items.toLocaleString('en-US'),
        r.seconds.toFixed(2),
        Math.round(r.rate).toLocaleString('en-US'),
        r.peakRssMb.toFixed(0),
      ];
      out.push([`post-field-work (${dialect})`, ...fmt(job), `${(job.rate / naive.rate).toFixed(1)}×`]);
      out.push(['  baseline: same job, row by row', ...fmt(naive), '1.0×']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      for (const db of ['store_job', 'billing_job', 'store_naive', 'billing_naive'])
        await client.query(`drop database if exists fg_bench_fw_${db} with (force)`);
      await client.end();
    }
  }
  return out;
}

if (only === undefined || only === 'pastdue') {
  console.log('');
  printTable(
    [
      'past-due over every account (notice day, then shut-off day)',
      'accounts',
      'notices',
      'seconds',
      'accounts/s',
      'peak RSS MB',
      'vs baseline',
    ],
    pastDueRows(),
  );
}

/** The past-due job in sets against the same job account by account, on the same billing (same seed). */
function pastDueRows(): string[][] {
  const accounts = String(Number(process.env.BENCH_PASTDUE_ACCOUNTS ?? 50_000));
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-pd-'));
  const out: string[][] = [];
  interface PastDue {
    accounts: number;
    notices: number;
    cuts: number;
    noticeSeconds: number;
    shutOffSeconds: number;
    peakRssMb: number;
  }
  try {
    for (const dialect of ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])]) {
      process.stderr.write(`[past-due] ${dialect}, ${accounts} accounts…\n`);
      const sets = caseResult<PastDue>('pastdue-cases.js', 'sets', dialect, dir, accounts);
      const rows = caseResult<PastDue>('pastdue-cases.js', 'rows', dialect, dir, accounts);
      const seconds = (r: PastDue) => r.noticeSeconds + r.shutOffSeconds;
      const fmt = (r: PastDue) => [
        r.accounts.toLocaleString('en-US'),
        `${r.notices.toLocaleString('en-US')} (${r.cuts.toLocaleString('en-US')} cut)`,
        `${r.noticeSeconds.toFixed(2)} + ${r.shutOffSeconds.toFixed(2)}`,
        Math.round(r.accounts / r.noticeSeconds).toLocaleString('en-US'),
        r.peakRssMb.toFixed(0),
      ];
      out.push([`past-due in sets (${dialect})`, ...fmt(sets), `${(seconds(rows) / seconds(sets)).toFixed(1)}×`]);
      out.push(['  baseline: the same job account by account', ...fmt(rows), '1.0×']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (only === 'intervals' && process.env.DATABASE_URL) {
  // Not in a plain `npm run bench`: a year of intervals for ~2,900 meters takes minutes to load.
  const n = Number(process.env.BENCH_INTERVALS ?? 100_000_000);
  process.stderr.write(`[intervals] loading ${n.toLocaleString('en-US')} intervals on PostgreSQL…\n`);
  const r = caseResult<{
    intervals: number;
    meters: number;
    partitions: number;
    loadSeconds: number;
    tableBytes: number;
    indexBytes: number;
    dailyBytes: number;
    meterMonth: { n: number; p50: number; p99: number; max: number };
    accountYear: { n: number; p50: number; p99: number; max: number };
  }>('interval-cases.js', String(n));
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GB`;
  console.log('');
  console.log(
    `${r.intervals.toLocaleString('en-US')} intervals of ${r.meters.toLocaleString('en-US')} meters in ${r.partitions} month ` +
      `partitions, loaded day by day by COPY in ${r.loadSeconds.toFixed(0)} s ` +
      `(${Math.round(r.intervals / r.loadSeconds).toLocaleString('en-US')}/s); table ${gb(r.tableBytes)}, indexes ` +
      `${gb(r.indexBytes)}; derived daily reads ${gb(r.dailyBytes)}`,
  );
  printTable(
    ["usage query (the usage API's own)", 'queries', 'p50 ms', 'p99 ms', 'max ms', 'target'],
    [
      ["one meter's month, by day", r.meterMonth] as const,
      ["one account's year, by month", r.accountYear] as const,
    ].map(([name, q]) => [name, String(q.n), q.p50.toFixed(1), q.p99.toFixed(1), q.max.toFixed(1), 'p99 < 50 ms']),
  );
}

if (only === undefined || only === 'console') {
  console.log('');
  printTable(
    [
      'console at 200 req/s over 20 connections (100,000 exceptions, 5,000-account ledger)',
      'requests',
      'req/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'errors',
      'p99 vs baseline',
    ],
    consoleRows(),
  );
}

/** The exception queue and the pre-bill ledger under a fixed load, against the ledger built per request. */
function consoleRows(): string[][] {
  const out: string[][] = [];
  for (const dialect of ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-console-'));
    try {
      const rows = caseResult<unknown>('console-cases.js', dialect, dir) as {
        name: string;
        load: 'steady' | 'bursts';
        requests: number;
        rate: number;
        p50: number;
        p99: number;
        max: number;
        errors: number;
      }[];
      const base = rows.find((r) => r.name === 'ledger-uncached')!;
      for (const r of rows) {
        const how = r.load === 'steady' ? 'steady' : 'bursts of 20';
        const label =
          r.name === 'exceptions'
            ? `exceptions list, open, filtered, paged (${dialect}, ${how})`
            : r.name === 'ledger'
              ? `pre-bill ledger page, sorted, filtered (${dialect}, ${how})`
              : '  baseline: ledger built for every request (steady)';
        out.push([
          label,
          r.requests.toLocaleString('en-US'),
          r.rate.toFixed(0),
          r.p50.toFixed(1),
          r.p99.toFixed(1),
          r.max.toFixed(0),
          String(r.errors),
          r.name === 'ledger' && r.load === 'steady'
            ? `${(base.p99 / Math.max(r.p99, 0.1)).toFixed(0)}× lower`
            : r.name === 'ledger-uncached'
              ? '1×'
              : '',
        ]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

if ((only === undefined || only === 'nightly') && process.env.DATABASE_URL) {
  console.log('');
  printTable(
    [
      `a night at ${Number(process.env.BENCH_NIGHT_ACCOUNTS ?? 100_000).toLocaleString('en-US')} accounts on PostgreSQL`,
      'items',
      'seconds',
      'items/s',
      'share of the night',
    ],
    nightlyRows(),
  );
}

/** The night's work at a large utility, step by step, through the product's own code. */
function nightlyRows(): string[][] {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-night-'));
  try {
    const r = caseResult<unknown>('nightly-cases.js', dir) as {
      steps: { step: string; items: number; unit: string; seconds: number }[];
      heapRetries: number;
      workerHeapMb: number;
      peakRssMb: number;
      postgres: Record<string, string>;
    };
    const total = r.steps.reduce((s, x) => s + x.seconds, 0);
    const rows = r.steps.map((x) => [
      x.step,
      `${x.items.toLocaleString('en-US')} ${x.unit}`,
      x.seconds.toFixed(1),
      Math.round(x.items / x.seconds).toLocaleString('en-US'),
      `${((100 * x.seconds) / total).toFixed(0)}%`,
    ]);
    rows.push(['the whole night', '', total.toFixed(1), '', `${(total / 60).toFixed(1)} min of the 10-minute target`]);
    rows.push([
      `peak RSS of the process (imports' workers at ${r.workerHeapMb} MB heap, ${r.heapRetries} run again)`,
      `${r.peakRssMb.toFixed(0)} MB`,
      '',
      '',
      'of the 1 GB target',
    ]);
    rows.push([
      `PostgreSQL: ${Object.entries(r.postgres)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      '',
      '',
      '',
      '',
    ]);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface MqttRun {
  readings: number;
  inStore: number;
  expected: number;
  exactlyOnce: boolean;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  gatewaysCpu: number;
  postgresCpu: number;
  killedAfterSeconds?: number;
  recoveredSeconds?: number;
  sessionExpirySeconds?: number;
  resendSeconds?: number;
}

/** End to end: device publish → stored → ack received by the device; one gateway, then two sharing the work. */
function mqttRows(): string[][] {
  const run = (gateways: number, kill = false): MqttRun => {
    process.stderr.write(`[mqtt] ${gateways} gateway(s)${kill ? ', one killed mid-run' : ''}…\n`);
    return caseResult<MqttRun>('mqtt-cases.js', String(gateways), ...(kill ? ['kill'] : []));
  };
  const one = run(1);
  const per1000 = (cpu: number, r: MqttRun) => ((1000 * cpu) / r.readings).toFixed(3);
  const row = (name: string, r: MqttRun) => [
    name,
    r.readings.toLocaleString('en-US'),
    r.seconds.toFixed(2),
    Math.round(r.rate).toLocaleString('en-US'),
    Math.round(r.p50Ms).toLocaleString('en-US'),
    Math.round(r.p99Ms).toLocaleString('en-US'),
    `${(r.rate / one.rate).toFixed(2)}×`,
    per1000(r.gatewaysCpu, r),
    per1000(r.postgresCpu, r),
  ];
  const killed = run(3, true);
  return [
    row('one gateway (4 consumer connections)', one),
    row('two gateways, shared subscription', run(2)),
    row('three gateways, shared subscription', run(3)),
    row(
      `three gateways, one killed at ${killed.killedAfterSeconds!.toFixed(1)} s: ` +
        `${killed.inStore.toLocaleString('en-US')} of ${killed.expected.toLocaleString('en-US')} stored ` +
        `${killed.exactlyOnce ? 'exactly once' : 'NOT exactly once'}, ${killed.recoveredSeconds!.toFixed(1)} s ` +
        `after the kill (devices resend after ${killed.resendSeconds} s, session expiry ${killed.sessionExpirySeconds} s)`,
      killed,
    ),
  ];
}

/**
 * The dock's rows: useful file bytes a second through a relay pacing the line at 115,200 baud
 * (11,520 B/s on the wire, the baseline), the same with eight docks at once, unpaced PTYs, and
 * go-back-N's cost at 1% of frames corrupted.
 */
function dockRows(): string[][] {
  const dock = (name: string): DockRun[] => {
    process.stderr.write(`[dock] ${name}…\n`);
    return caseResult<DockRun[]>('dock-cases.js', name);
  };
  const LINE = 11_520;
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  const out: string[][] = [];
  const [paced] = dock('paced');
  const load = paced!.loadBytes / paced!.loadSeconds;
  const unload = paced!.unloadBytes / paced!.unloadSeconds;
  out.push([
    'load at 115,200 baud (relay)',
    n(paced!.loadBytes),
    paced!.loadSeconds.toFixed(2),
    n(load),
    `${((100 * load) / LINE).toFixed(1)}% of line`,
  ]);
  out.push([
    'unload at 115,200 baud (relay)',
    n(paced!.unloadBytes),
    paced!.unloadSeconds.toFixed(2),
    n(unload),
    `${((100 * unload) / LINE).toFixed(1)}% of line`,
  ]);
  out.push(['  baseline: the line itself, 8N1', '', '', n(LINE), '100%']);
  const eight = dock('eight');
  const rates = eight.map((r) => r.loadBytes / r.loadSeconds);
  const slowest = Math.min(...rates);
  out.push([
    '8 docks at once, slowest load',
    n(eight[rates.indexOf(slowest)]!.loadBytes),
    eight[rates.indexOf(slowest)]!.loadSeconds.toFixed(2),
    n(slowest),
    `${((100 * slowest) / LINE).toFixed(1)}% of line`,
  ]);
  const [fast] = dock('unpaced');
  const fastLoad = fast!.loadBytes / fast!.loadSeconds;
  const fastUnload = fast!.unloadBytes / fast!.unloadSeconds;
  out.push([
    'load, unpaced PTY',
    n(fast!.loadBytes),
    fast!.loadSeconds.toFixed(3),
    n(fastLoad),
    `${(fastLoad / LINE).toFixed(0)}× line`,
  ]);
  out.push([
    'unload, unpaced PTY',
    n(fast!.unloadBytes),
    fast!.unloadSeconds.toFixed(3),
    n(fastUnload),
    `${(fastUnload / LINE).toFixed(0)}× line`,
  ]);
  const [bad] = dock('corrupt');
  const badRate = (bad!.loadBytes + bad!.unloadBytes) / (bad!.loadSeconds + bad!.unloadSeconds);
  out.push([
    `115,200 baud, 1% of frames corrupted (${((1000 * bad!.resent) / bad!.dataFrames).toFixed(0)} resent per 1,000)`,
    n(bad!.loadBytes + bad!.unloadBytes),
    (bad!.loadSeconds + bad!.unloadSeconds).toFixed(2),
    n(badRate),
    `${((100 * badRate) / LINE).toFixed(1)}% of line`,
  ]);
  return out;
}

function printTable(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of body) console.log(line(r));
}
