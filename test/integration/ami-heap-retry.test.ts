import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAmiImport } from '../../src/flows/ami/import-runner.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Finding (nightly bench, 100,000 meters in one CMEP file): the import worker ran out of heap, and
 * its second error, raised as it exited with no listener left, took the whole process down. Now
 * the import is run again with twice the heap (it resumes, so nothing is stored twice), and a file
 * that needs more than the ceiling is a typed error naming ami.workerHeapMb.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('AMI import that outgrows its worker heap', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'ami_heap', accounts: 200, routes: 1 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is run again with twice the heap, and stores each interval once', async () => {
    const retries: [number, number][] = [];
    // Far too small a heap to start with: the worker cannot even load its modules in it.
    const config = { ...gw.config, ami: { ...gw.config.ami, workerHeapMb: 4 } };
    const result = await runAmiImport(config, path.resolve('test/fixtures/ami/cmep-dst.csv'), {
      format: 'cmep',
      onHeapRetry: (from, to) => retries.push([from, to]),
    });
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toEqual([4, 8]);
    expect(result.received).toBeGreaterThan(0);
    const stored = Number(((await gw.ctx.store.db('ami_intervals').count({ n: '*' }).first()) as { n: number }).n);
    expect(stored).toBe(result.stored);
    // The gateway process is still here to say so.
    expect(process.exitCode ?? 0).toBe(0);
  }, 60_000);
});
