import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

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
  const out = execFileSync(process.execPath, [path.join(here, 'readings-cases.js'), name, dialect, dir, String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

const rows: string[][] = [];
const dialects = ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];
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
    const fmt = (r: Result) => [r.items.toLocaleString('en-US'), r.seconds.toFixed(2), Math.round(r.rate).toLocaleString('en-US'), r.peakRssMb.toFixed(0)];
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
    for (const tag of ['base', 'imp', 'naive']) await client.query(`drop database if exists fg_bench_${kind}_${tag} with (force)`);
  }
  await client.end();
}

const head = ['case', 'items', 'seconds', 'items/s', 'peak RSS MB', 'vs baseline'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const r of rows) console.log(line(r));
