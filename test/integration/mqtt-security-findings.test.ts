import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../src/flows/context.js';
import type { FieldService } from '../../src/flows/field/field-service.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { brokerClients, fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * Regression tests of the security probe's MQTT findings (issue 16) on the embedded broker,
 * each reproducing the finding as it was reported.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('embedded MQTT broker: security probe findings', () => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let field: FieldService;
  const { connect, refusal, closeAll } = brokerClients(() => field.brokerUrl, 5000);
  const port = () => Number(new URL(field.brokerUrl).port);

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'mq_find', accounts: 20, routes: 1 });
    const base = fieldConfig(gw.ctx, { name: 'embedded', url: null });
    // Every client here comes from 127.0.0.1: the per-address bound is tested with the throttle itself.
    const auth = { ...base.config.auth, login: { ...base.config.auth.login, maxFailuresPerAddress: 1000 } };
    ctx = { ...base, config: { ...base.config, auth } };
    field = await startField(ctx);
  });
  afterAll(async () => {
    await closeAll();
    await field?.stop();
    await gw?.close();
  });

  it(
    "finding 2: a CSR login cannot take the gateway's session with its client id, and devices are never told that " +
      'id',
    async () => {
      const secret = await issueMqttSecret(ctx.store.db, 'csr-eve', 'csr', ctx.clock());
      expect(await refusal({ clientId: field.clientId, clean: false, username: 'csr-eve', password: secret })).toBe(
        '5',
      );
      expect(
        await refusal({ clientId: `${field.clientId}-1`, clean: false, username: 'csr-eve', password: secret }),
      ).toBe('5');
      // A CSR's own ids are their name, or their name and a suffix.
      expect(await refusal({ clientId: 'csr-eve:console', username: 'csr-eve', password: secret })).toBe('connected');
      expect(await refusal({ clientId: 'someone-else', username: 'csr-eve', password: secret })).toBe('5');
      // A technician is bound to their own id as devices are.
      const tech = await issueMqttSecret(ctx.store.db, 'tech-tom', 'tech', ctx.clock());
      expect(await refusal({ clientId: field.clientId, clean: false, username: 'tech-tom', password: tech })).toBe('5');
      expect(field.health().state).toBe('running');
      // The ack a device gets names the gateway by a digest, not by its client id.
      expect(field.gatewayName).toMatch(/^gw-[0-9a-f]{12}$/);
      expect(field.gatewayName).not.toContain(field.clientId);
    },
  );

  it('finding 4: a CONNECT announcing 200 MB is refused from its header, before it is read', async () => {
    const before = field.broker!.refusals.get('packet too large') ?? 0;
    const closed = await new Promise<{ written: number; ms: number }>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: port() });
      const started = Date.now();
      let written = 0;
      socket.on('connect', () => {
        socket.write(Buffer.from([0x10, 0x80, 0x84, 0xaf, 0x5f])); // CONNECT, remaining length 200,000,000
        const chunk = Buffer.alloc(1 << 16);
        const pump = () => {
          while (!socket.destroyed && written < 20 << 20 && socket.write(chunk)) written += chunk.length;
        };
        socket.on('drain', pump);
        pump();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ written, ms: Date.now() - started }));
    });
    expect(closed.written).toBeLessThan(20 << 20); // closed long before 20 MB went in
    expect(field.broker!.refusals.get('packet too large')).toBe(before + 1);
  });

  it(
    'finding 5: secrets are checked off the event loop, unknown names cost what known ones do, and failures are ' +
      'throttled',
    async () => {
      const secret = await issueMqttSecret(ctx.store.db, 'T-KNOWN', 'device', ctx.clock());
      const timed = async (username: string) => {
        const started = process.hrtime.bigint();
        const r = await refusal({ clientId: username, username, password: `${secret}x` });
        return { r, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      };
      // Four of each (the fifth would reach the pair's limit); medians, so one slow start does not decide.
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 4; i++) {
        const k = await timed('T-KNOWN');
        const u = await timed(`T-NOBODY${i}`);
        expect([k.r, u.r]).toEqual(['4', '4']);
        known.push(k.ms);
        unknown.push(u.ms);
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      // scryptSync and no decoy answered unknown names 20 times faster.
      expect(median(known) / median(unknown)).toBeLessThan(3);
      expect(median(unknown) / median(known)).toBeLessThan(3);

      // The loop keeps turning while 16 wrong secrets are checked at once (scryptSync held it ~36 ms each).
      let longest = 0;
      let last = Date.now();
      const ticker = setInterval(() => {
        longest = Math.max(longest, Date.now() - last);
        last = Date.now();
      }, 5);
      const names = Array.from({ length: 16 }, (_, i) => `T-FLOOD${i}`);
      await Promise.all(names.map((n) => refusal({ clientId: n, username: n, password: 'wrong-secret' })));
      clearInterval(ticker);
      expect(longest).toBeLessThan(300);

      // The fifth failure of one name from one address is the last one checked.
      expect((await timed('T-KNOWN')).r).toBe('4');
      const throttledBefore = field.broker!.refusals.get('throttled') ?? 0;
      expect((await timed('T-KNOWN')).r).toBe('5');
      expect(field.broker!.refusals.get('throttled')).toBe(throttledBefore + 1);
      // Even the right secret waits for the window now: that is what a lockout is.
      expect(await refusal({ clientId: 'T-KNOWN', username: 'T-KNOWN', password: secret })).toBe('5');
    },
  );

  it(
    "finding 9: a device's large retained message is refused, and a flood of bad messages keeps a bounded number " +
      'of exceptions',
    async () => {
      const secret = await issueMqttSecret(ctx.store.db, 'T-FLOOD', 'device', ctx.clock());
      const prefix = ctx.config.mqtt.prefix;
      const retained = await connect({ clientId: 'T-FLOOD', username: 'T-FLOOD', password: secret });
      const gone = new Promise((r) => retained.once('close', () => r(undefined)));
      retained.publish(
        `${prefix}/devices/T-FLOOD/status`,
        JSON.stringify({ online: true, model: 'x'.repeat(40), pad: 'p'.repeat(20_000) }),
        { qos: 1, retain: true },
      );
      await gone;
      expect(field.broker!.refusals.get('retained too large')).toBe(1);

      const device = await connect({ clientId: 'T-FLOOD', username: 'T-FLOOD', password: secret });
      const keep = ctx.config.mqtt.badMessages.keepPerDevice;
      const sent = keep * 5;
      for (let i = 0; i < sent; i++)
        await device.publishAsync(
          `${prefix}/devices/T-FLOOD/readings`,
          `{"batchId":"b${i}","junk":"${'j'.repeat(50_000)}"}`,
          { qos: 1 },
        );
      const bad = field.messageCounts;
      await waitFor(
        () => (bad.get('readings handled') ?? 0) >= sent || undefined,
        'every bad message to be handled',
        30_000,
      );
      const rows = (await ctx.store
        .db('exceptions')
        .where({ source: 'mqtt' })
        .whereLike('message', 'T-FLOOD%')
        .select('kind', 'raw', 'message')) as { kind: string; raw: string | null; message: string }[];
      expect(rows.filter((r) => r.kind === 'BAD_MESSAGE')).toHaveLength(keep);
      const summary = (await ctx.store
        .db('exceptions')
        .where({ source: 'mqtt', kind: 'TOO_MANY_BAD_MESSAGES', value: 'T-FLOOD' })
        .select('message')) as { message: string }[];
      expect(summary).toHaveLength(1);
      expect(summary[0]!.message).toMatch(/^T-FLOOD sent \d+ more bad messages/);
      for (const r of rows)
        expect(Buffer.byteLength(r.raw ?? '')).toBeLessThanOrEqual(ctx.config.mqtt.badMessages.keepBytes + 3);
    },
  );
});
