import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, sentReadings } from '../faults/invariants.js';
import { describePlan, FAULT_KINDS, planRun, runSeeds } from '../faults/plan.js';

/**
 * The fault suite's own parts: a plan is a function of its seed (so `--seed` replays it), and
 * the invariant checker does catch what it is there to catch: a reading billed twice, a reading
 * lost, a valid reading never posted, a completion missing or posted twice.
 */
const ZONE = 'America/Chicago';
/** A reading the scripted field app made and sent. */
const APP_READING = { device: 'app.reader1', meterId: 'W4', register: 1, value: 77, readAt: '2026-11-22T15:40:00Z' };

/** A read-v1 line (formats.md columns) with the fields the checker reads. */
function readLine(meter: string, register: number, reading: number | null, localTime: string): string {
  const line = Array(139).fill(' ');
  const put = (start: number, text: string) => text.split('').forEach((c, i) => (line[start - 1 + i] = c));
  put(1, '00001');
  put(6, 'A-1'.padEnd(15));
  put(21, meter.padEnd(12));
  put(33, String(register).padStart(2, '0'));
  if (reading !== null) put(35, String(reading).padStart(10, '0'));
  put(45, localTime);
  return line.join('');
}

describe('fault suite plan', () => {
  it('is the same plan for the same seed, and the suite seed gives the same run seeds', () => {
    expect(planRun(4242)).toEqual(planRun(4242));
    expect(describePlan(planRun(4242))).toBe(describePlan(planRun(4242)));
    expect(runSeeds(7, 50)).toEqual(runSeeds(7, 50));
    expect(new Set(runSeeds(7, 50)).size).toBe(50);
  });

  it('draws every kind of fault over a suite of 50 runs, each run with two to four faults in the window', () => {
    const plans = runSeeds(519633690, 50).map(planRun);
    const kinds = new Set(plans.flatMap((p) => p.faults.map((f) => f.kind)));
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
    for (const p of plans) {
      expect(p.faults.length).toBeGreaterThanOrEqual(2);
      expect(p.faults.length).toBeLessThanOrEqual(4);
      expect(p.faults.map((f) => f.at)).toEqual([...p.faults.map((f) => f.at)].sort((a, b) => a - b));
      for (const f of p.faults) if (f.kind === 'clock-jump') expect(f.offset).toMatch(/^[+-]\d+[hm]$/);
    }
  });
});

describe('fault suite invariant checker', () => {
  let store: Knex;
  let billing: Knex;
  let dir: string;
  afterEach(async () => {
    await store?.destroy();
    await billing?.destroy();
  });

  async function world(): Promise<{ storeUrl: string; billingUrl: string; journal: string }> {
    dir = mkdtempSync(path.join(tmpdir(), 'fg-invariants-'));
    const storeFile = path.join(dir, 'store.sqlite');
    const billingFile = path.join(dir, 'billing.sqlite');
    store = knex({ client: 'better-sqlite3', connection: { filename: storeFile }, useNullAsDefault: true });
    billing = knex({ client: 'better-sqlite3', connection: { filename: billingFile }, useNullAsDefault: true });
    await store.schema.createTable('readings', (t) => {
      t.string('meter_id');
      t.integer('register');
      t.bigInteger('reading');
      t.string('status');
    });
    await store.schema.createTable('exceptions', (t) => {
      t.string('meter_id');
      t.string('status');
    });
    await store.schema.createTable('attachments', (t) => {
      t.string('sha256');
    });
    await store<Record<string, unknown>>('attachments').insert({ sha256: 'a1' });
    await billing.schema.createTable('cis_read_upload', (t) => {
      t.string('meter_id');
      t.integer('register_no');
      t.bigInteger('read_value');
      t.string('read_at');
      t.string('read_source');
    });
    await billing.schema.createTable('cis_fieldwork_upload', (t) => {
      t.string('order_no');
      t.string('outcome');
    });
    const journal = path.join(dir, 'journal.tsv');
    writeFileSync(
      journal,
      [
        `HH-0001\tR01\t${readLine('W1', 1, 120, '20261122093000')}`,
        `HH-0001\tR01\t${readLine('W2', 1, null, '20261122093100')}`,
        `T-0001\tR02\t${readLine('W3', 1, 9000, '20261122093200')}`,
      ]
        .map((l) => `${l}\n`)
        .join(''),
    );
    // The good outcome: W1 posted, W2 a skip, W3 held for a CSR with an open exception.
    await store<Record<string, unknown>>('readings').insert([
      { meter_id: 'W1', register: 1, reading: 120, status: 'valid' },
      { meter_id: 'W2', register: 1, reading: null, status: 'skipped' },
      { meter_id: 'W3', register: 1, reading: 9000, status: 'held' },
      { meter_id: 'W4', register: 1, reading: 77, status: 'valid' },
    ]);
    await store<Record<string, unknown>>('exceptions').insert({ meter_id: 'W3', status: 'open' });
    await billing('cis_read_upload').insert({
      meter_id: 'W1',
      register_no: 1,
      read_value: 120,
      read_at: '2026-11-22T15:30:00Z',
      read_source: 'HH',
    });
    await billing('cis_read_upload').insert({
      meter_id: 'W4',
      register_no: 1,
      read_value: 77,
      read_at: '2026-11-22T15:40:00Z',
      read_source: 'FIELD',
    });
    await billing('cis_fieldwork_upload').insert({ order_no: 'F1-1', outcome: 'COMPLETED' });
    return { storeUrl: `sqlite:${storeFile}`, billingUrl: `sqlite:${billingFile}`, journal };
  }

  const check = (w: { storeUrl: string; billingUrl: string; journal: string }) =>
    checkInvariants(
      {
        journalFile: w.journal,
        zone: ZONE,
        completedOrders: [{ orderNo: 'F1-1', outcome: 'COMPLETED' }],
        app: { readings: [APP_READING], photos: 1 },
        ami: { meters: [], days: 0 },
      },
      w.storeUrl,
      w.billingUrl,
    );

  it("reads the journal with the read time in the utility's zone", () => {
    const [first] = sentReadings(`HH-0001\tR01\t${readLine('W1', 1, 120, '20261122093000')}\n`, ZONE);
    expect(first).toEqual({
      device: 'HH-0001',
      meterId: 'W1',
      register: 1,
      value: 120,
      readAt: '2026-11-22T15:30:00Z',
    });
  });

  it('finds nothing when every reading is billed once, skipped or held for a CSR', async () => {
    expect(await check(await world())).toEqual([]);
  });

  it('names a reading billed twice', async () => {
    const w = await world();
    await billing('cis_read_upload').insert({
      meter_id: 'W1',
      register_no: 1,
      read_value: 120,
      read_at: '2026-11-22T15:30:00Z',
      read_source: 'HH',
    });
    expect(await check(w)).toEqual(["HH-0001's reading of meter W1 register 1: in billing 2 times"]);
  });

  it('names a reading lost from the store and a valid one never posted', async () => {
    const w = await world();
    await store('readings').where({ meter_id: 'W2' }).delete();
    await billing('cis_read_upload').where({ meter_id: 'W1' }).delete();
    expect(await check(w)).toEqual([
      "HH-0001's reading of meter W1 register 1 (120 at 2026-11-22T15:30:00Z): not in billing, and not held for a " +
        'CSR (stored as valid)',
      "HH-0001's reading of meter W2 register 1: stored 0 times in the gateway (expected once)",
    ]);
  });

  it("names a billed value that differs from the device's, and a reading no device made", async () => {
    const w = await world();
    await billing('cis_read_upload').where({ meter_id: 'W1' }).update({ read_value: 121 });
    await billing('cis_read_upload').insert({
      meter_id: 'W9',
      register_no: 1,
      read_value: 5,
      read_at: '2026-11-22T15:30:00Z',
      read_source: 'HH',
    });
    expect(await check(w)).toEqual([
      "HH-0001's reading of meter W1 register 1: billing has 121 at 2026-11-22T15:30:00Z, the device read 120 at " +
        '2026-11-22T15:30:00Z',
      'billing holds 1 reading(s) of W9 register 1 that no device made',
    ]);
  });

  it("names the field app's reading stored twice, and a photo kept twice", async () => {
    const w = await world();
    await store<Record<string, unknown>>('readings').insert({
      meter_id: 'W4',
      register: 1,
      reading: 77,
      status: 'valid',
    });
    await store<Record<string, unknown>>('attachments').insert({ sha256: 'a1' });
    expect(await check(w)).toEqual([
      'the field app sent 1 distinct photo(s); the gateway keeps 2 (expected each once)',
      "app.reader1's reading of meter W4 register 1: stored 2 times in the gateway (expected once)",
    ]);
  });

  it('names a completion missing from billing, or there twice', async () => {
    const w = await world();
    await billing('cis_fieldwork_upload').insert({ order_no: 'F1-1', outcome: 'COMPLETED' });
    expect(await check(w)).toEqual(["completed order F1-1: in billing's field-work upload 2 times (expected once)"]);
    await billing('cis_fieldwork_upload').delete();
    expect(await check(w)).toEqual(["completed order F1-1: in billing's field-work upload 0 times (expected once)"]);
  });
});
