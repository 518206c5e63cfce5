import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiService } from '../../src/flows/ami/ami-service.js';
import { importAmiFile } from '../../src/flows/ami/import-ami.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { startGateway } from '../../src/entry/gateway.js';
import { approvesAllDevices, isDemoBilling } from '../../src/infra/config/demo.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine } from '../tools/ami-fixtures.js';
import { tmpdir } from 'node:os';

/**
 * Security probe findings 1, 3, 10 and 11 through the gateway's own services on SQLite: the
 * drop folder with a name too long for its timestamp and a line too long to be a record; the
 * demo's conveniences only on the demo; the store's files private.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const day = (start: number) =>
  Array.from({ length: 96 }, (_, i) => ({
    startAt: start + i * 900,
    seconds: 900,
    value: 0.25,
    quality: 'A' as const,
    flags: null,
  }));

describe('AMI drop folder and store under hostile input', () => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let meter: string;

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'ami_sec', accounts: 20, routes: 1 });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fg-amisec-'));
    ctx = {
      ...gw.ctx,
      config: {
        ...gw.ctx.config,
        dataDir,
        ami: {
          ...gw.ctx.config.ami,
          dropPollMs: 50,
          maxLineLength: { ...gw.ctx.config.ami.maxLineLength, cmep: 20_000 },
        },
      },
    };
    meter = ((await gw.ctx.billing.db('cis_meters').select('meter_id').first()) as { meter_id: string }).meter_id;
  });
  afterAll(async () => gw?.close());

  it(
    'finding 3: a line longer than ami.maxLineLength is one exception naming it, and the lines around it are ' +
      'stored',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fg-amilong-'));
      const file = path.join(dir, 'long.csv');
      const start = Date.parse('2026-11-20T06:00:00Z') / 1000;
      writeFileSync(
        file,
        [
          cmepLine(meter, 'KWH', day(start)),
          `MEPMD01,${'9'.repeat(5_000_000)}`,
          cmepLine(meter, 'KWH', day(start + 86_400)),
        ].join('\n'),
      );
      const r = await importAmiFile({ ...ctx, db: ctx.store.db }, file);
      expect(r.stored).toBe(192);
      expect(r.exceptionsByKind.LINE_TOO_LONG).toBe(1);
      const ex = (await ctx.store.db('exceptions').where({ batch_id: r.batchId, kind: 'LINE_TOO_LONG' }).first()) as {
        line_no: number;
        message: string;
        field: string;
      };
      expect(ex).toMatchObject({ line_no: 2, field: 'ami.maxLineLength.cmep' });
      expect(ex.message).toBe(
        'long.csv line 2 is 5,000,008 characters long; at most 20,000 are read, so it was skipped ' +
          '(ami.maxLineLength.cmep)',
      );
    },
  );

  it(
    'finding 3: an ESPI document with 2 MB of text between two tags is refused before the XML parser holds ' + 'it',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fg-amixml-'));
      const file = path.join(dir, 'huge-text.xml');
      writeFileSync(
        file,
        `<?xml version="1.0"?>\n<feed ` +
          `xmlns="http://www.w3.org/2005/Atom">\n<title>${'x'.repeat(2_000_000)}</title></feed>\n`,
      );
      const r = await importAmiFile({ ...ctx, db: ctx.store.db }, file);
      expect(r.exceptionsByKind).toEqual({ REFUSED: 1 });
      const ex = (await ctx.store.db('exceptions').where({ batch_id: r.batchId, kind: 'REFUSED' }).first()) as {
        message: string;
      };
      expect(ex.message).toMatch(
        /^huge-text\.xml line \d+: more than 1,048,576 characters without markup \(ami\.maxLineLength\.espi\)/,
      );
    },
  );

  it(
    'finding 1: a 240-character name is imported and moved; a file of nothing but one long line goes to ' + 'failed/',
    async () => {
      const service = new AmiService(ctx);
      await service.start();
      try {
        const inbox = service.dropDir;
        const start = Date.parse('2026-11-18T06:00:00Z') / 1000;
        const longName = `${'a'.repeat(236)}.csv`;
        writeFileSync(path.join(inbox, longName), cmepLine(meter, 'KWH', day(start)));
        writeFileSync(path.join(inbox, 'one-line.csv'), `MEPMD01${'x'.repeat(100_000)}`);
        const done = path.join(inbox, 'done');
        const failed = path.join(inbox, 'failed');
        // The reason file is there from its open: dealt with means its text is written too.
        const reasonText = () => {
          const name = readdirSync(failed).find((f) => f.endsWith('.reason.txt'));
          return name ? readFileSync(path.join(failed, name), 'utf8') : '';
        };
        await waitFor(
          () =>
            (readdirSync(done).length === 1 && readdirSync(failed).length === 2 && reasonText() !== '') || undefined,
          'both files to be dealt with',
          30_000,
        );
        expect(existsSync(path.join(inbox, longName))).toBe(false);
        const reason = readdirSync(failed).find((f) => f.endsWith('.reason.txt'))!;
        expect(readFileSync(path.join(failed, reason), 'utf8')).toMatch(
          /^no data: every line was too long to be a record/,
        );
        expect(service.health().state).toBe('running');
      } finally {
        await service.stop();
      }
    },
  );

  it('finding 1: a file that cannot be moved is an exception for the CSR, and the gateway goes on', async () => {
    const service = new AmiService(ctx);
    await service.start();
    try {
      const inbox = service.dropDir;
      const start = Date.parse('2026-11-16T06:00:00Z') / 1000;
      const done = path.join(inbox, 'done');
      const kept = `${done}.kept`;
      // done/ pointing nowhere: the move fails as ENAMETOOLONG did.
      renameSync(done, kept);
      symlinkSync(path.join(inbox, 'nowhere'), done);
      writeFileSync(path.join(inbox, 'stuck.csv'), cmepLine(meter, 'KWH', day(start)));
      await waitFor(() => service.stuckFiles === 1 || undefined, 'the file to be reported stuck', 30_000);
      const ex = (await waitFor(
        () =>
          ctx.store
            .db('exceptions')
            .where({ kind: 'FILE_NOT_MOVED' })
            .first()
            .then((r: unknown) => r ?? undefined),
        'the exception',
        10_000,
      )) as { value: string; message: string };
      expect(ex.value).toBe('stuck.csv');
      expect(ex.message).toMatch(
        /^AMI drop file 'stuck.csv' was imported but cannot be moved out of ami\/inbox: .*ENOENT/,
      );
      expect(existsSync(path.join(inbox, 'stuck.csv'))).toBe(true);
      rmSync(done);
      mkdirSync(done);
    } finally {
      await service.stop();
    }
  });

  it("finding 11: the SQLite store and its WAL are readable by the gateway's user only", () => {
    const file = gw.config.store.url.replace(/^sqlite:/, '');
    for (const f of [file, `${file}-wal`]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o077).toBe(0);
  });

  it('finding 10: demo users, token and welcomed hand-helds only on the demo billing database', async () => {
    expect(isDemoBilling(gw.config)).toBe(false); // a billing database the gateway did not seed itself
    expect(approvesAllDevices({ ...gw.config, dock: { ...gw.config.dock, approveAllDevices: 'demo' } })).toBe(false);
    const demo = {
      ...gw.config,
      billing: {
        ...gw.config.billing,
        url: 'sqlite:./x.sqlite',
        demo: { ...gw.config.billing.demo, seedOnFirstRun: true },
      },
    };
    expect(isDemoBilling(demo)).toBe(true);
    expect(approvesAllDevices({ ...demo, dock: { ...demo.dock, approveAllDevices: 'demo' } })).toBe(true);
    expect(isDemoBilling({ ...demo, billing: { ...demo.billing, url: 'postgres://cis/billing' } })).toBe(false);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fg-nodemo-'));
    const running = await startGateway({
      ...gw.ctx,
      config: {
        ...gw.config,
        dataDir,
        server: { ...gw.config.server, port: 0 },
        mqtt: { ...gw.config.mqtt, enabled: false },
        ami: { ...gw.config.ami, watch: false },
      },
    });
    try {
      expect(running.demoCredentials).toBeNull();
      expect(existsSync(path.join(dataDir, 'demo-credentials.txt'))).toBe(false);
      expect(Number((await gw.ctx.store.db('api_tokens').count({ n: '*' }).first())!.n)).toBe(0);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      await running.stop();
    }
  });
});
