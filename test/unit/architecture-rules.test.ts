import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/infra/config/paths.js';

/**
 * The rules `npm run lint` enforces (docs/architecture.md) are tested the only way that shows
 * they hold: a file that breaks one is written into the tree, and the checker must refuse it.
 */
const run = promisify(execFile);
const bin = (name: string) => path.join(packageRoot, 'node_modules', '.bin', name);

async function refusal(file: string, text: string, check: string[]): Promise<string> {
  const full = path.join(packageRoot, file);
  writeFileSync(full, text);
  try {
    await run(check[0]!, check.slice(1), { cwd: packageRoot, maxBuffer: 1 << 24 });
    return 'accepted';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  } finally {
    rmSync(full, { force: true });
  }
}

const depcruise = (file: string) => [
  bin('depcruise'),
  file,
  '--config',
  '.dependency-cruiser.cjs',
  '--output-type',
  'err',
];
const eslint = (file: string) => [bin('eslint'), '--no-warn-ignored', file];

describe('architecture rules (npm run lint)', () => {
  it('the domain may not import the store', async () => {
    const file = 'src/core/zz-rule-probe.ts';
    const out = await refusal(file, "export { openStore } from '../infra/store/store.js';\n", depcruise(file));
    expect(out).toContain('core-is-pure');
  }, 60_000);

  it('an adapter may not import another adapter', async () => {
    const file = 'adapters/mqtt/zz-rule-probe.ts';
    const out = await refusal(file, "export { parseCmepLine } from '../ami-files/cmep.js';\n", depcruise(file));
    expect(out).toContain('adapters-stand-alone');
  }, 60_000);

  it('infrastructure may not import a flow', async () => {
    const file = 'src/infra/store/zz-rule-probe.ts';
    const out = await refusal(
      file,
      "export { importReadings } from '../../flows/readings/import-readings.js';\n",
      depcruise(file),
    );
    expect(out).toContain('infra-does-not-reach-up');
  }, 60_000);

  it('a flow may not build SQL: queries belong in the store', async () => {
    const file = 'src/flows/zz-rule-probe.ts';
    const text =
      "import type { Knex } from 'knex';\n\nexport const readings = (db: Knex) => db('readings').select('id');\n";
    const out = await refusal(file, text, eslint(file));
    expect(out).toContain('SQL belongs in src/infra/store');
  }, 60_000);

  it('a module that needs one that needs it back is refused', async () => {
    const a = 'src/flows/zz-probe-a.ts';
    writeFileSync(
      path.join(packageRoot, 'src/flows/zz-probe-b.ts'),
      "import { a } from './zz-probe-a.js';\nexport const b = () => a;\n",
    );
    try {
      const out = await refusal(a, "import { b } from './zz-probe-b.js';\nexport const a = () => b;\n", depcruise(a));
      expect(out).toContain('no-cycles');
    } finally {
      rmSync(path.join(packageRoot, 'src/flows/zz-probe-b.ts'), { force: true });
    }
  }, 60_000);

  it('the tree as it is passes', async () => {
    const { stdout } = await run(
      bin('depcruise'),
      ['src', 'adapters', 'jobs', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
      { cwd: packageRoot },
    );
    expect(stdout).toContain('no dependency violations found');
  }, 60_000);
});
