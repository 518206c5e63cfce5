import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import {
  encodeBody,
  encodeFrame,
  FrameType,
  seqPayload,
  type Frame,
} from '../../adapters/handheld-serial/codec/frame.js';
import { slipEncode } from '../../adapters/handheld-serial/codec/slip.js';
import { decodeMessage, encodeMessage } from '../../adapters/handheld-serial/codec/messages.js';
import { frameLink } from '../../adapters/handheld-serial/framed-link.js';
import { TcpListenTransport } from '../../src/flows/sim/handheld/tcp-listener.js';
import type { MessageOf } from '../../adapters/handheld-serial/codec/messages.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, freePort, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';

/**
 * FDP/1 revision 2 (dock-protocol.md, top), against the gateway and the simulator: a 128-byte
 * device gets a 256-byte session and finishes a load and an unload; WELCOME is resent until the
 * device ACKs it; WELCOME names the zone and read times written in it are not in the future; a
 * route read while docked is unloaded after HOLDING, in the same session; dropped frames are
 * counted by reason.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('FDP/1 revision 2', () => {
  const cleanup = cleanupAfterEach();

  async function rig(label: string) {
    const gw = await testGateway(sqlite, { label, accounts: 200, routes: 2 });
    cleanup.push(() => gw.close());
    const port = `tcp://127.0.0.1:${await freePort()}`;
    const { service, ctx } = dockService(gw.ctx, [port]);
    const routes = (await ctx.billing.listRoutes()).map((r) => r.code);
    return { ctx, service, port, routes, db: ctx.store.db };
  }

  /** A raw device of the test's own on the dock's TCP port: it reads every frame and answers only as told. */
  async function rawDevice(r: Awaited<ReturnType<typeof rig>>) {
    const transport = new TcpListenTransport('127.0.0.1', Number(r.port.split(':').at(-1)));
    await transport.listen();
    cleanup.push(() => transport.shutdown());
    const opened = transport.open();
    await r.service.start();
    cleanup.push(() => r.service.stop());
    await opened;
    const framed = frameLink(transport, { intercept: () => true });
    cleanup.push(() => framed.detach());
    const got: Frame[] = [];
    framed.parser.on('data', (item) => 'frame' in item && got.push(item.frame));
    const send = (type: number, seq: number, payload: Buffer) =>
      transport.write(encodeFrame({ type, seq, payload } as Frame));
    return { transport, got, send };
  }

  it('runs a 128-byte device at the 256-byte floor, through a whole load, unload and clear', async () => {
    const r = await rig('rev2_floor');
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = handheld(r.ctx, { deviceId: 'HH-0128', port: r.port, maxFrame: 128 });
    const welcomed = nextEvent<[MessageOf<typeof FrameType.WELCOME>]>(d, 'welcome');
    await d.start();
    cleanup.push(() => d.stop());
    const [welcome] = await welcomed;
    expect(welcome.maxFrame).toBe(256);
    const loaded = nextEvent(d, 'loaded', 30_000);
    await assignRoute(r.ctx, { routeCode: r.routes[0]!, deviceId: 'HH-0128', actor: 'csr:test' });
    await loaded;
    d.readRoutes();
    const cleared = nextEvent(d, 'cleared', 30_000);
    await d.sayHolding();
    await cleared;
    // The device deletes on CLEAR; the gateway records the route cleared on its CLEARED.
    const route = await waitFor(
      () => r.db('routes').where({ route_code: r.routes[0], state: 'cleared' }).first(),
      'the route to be recorded cleared',
    );
    expect(Number((await r.db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n)).toBe(
      route.records,
    );
  });

  it('resends WELCOME until the device ACKs it, and begins the session only then', async () => {
    const r = await rig('rev2_welcome');
    const dev = await rawDevice(r);
    const hello = { device: 'HH-0002', proto: 1, maxFrame: 1024, window: 8, routes: [] };
    await dev.send(FrameType.HELLO, 0, encodeMessage(FrameType.HELLO, hello));
    const welcomes = () => dev.got.filter((f) => f.type === FrameType.WELCOME);
    await waitFor(() => welcomes().length >= 2 || undefined, 'WELCOME resent while not ACKed', 5000);
    const [first, second] = welcomes().map((f) => decodeMessage(FrameType.WELCOME, f.payload));
    expect(second!.session).toBe(first!.session);
    expect(welcomes().every((f) => f.seq === 0)).toBe(true);
    expect(first!.zone).toBe('America/Chicago');
    expect(r.service.status()[0]!.device).toBeNull();
    await dev.send(FrameType.ACK, 0, seqPayload(0));
    await waitFor(() => r.service.status()[0]!.device?.id === 'HH-0002' || undefined, 'the session to begin');
    const count = welcomes().length;
    await new Promise((done) => setTimeout(done, 1500));
    expect(welcomes().length).toBe(count);
  });

  it("writes read times in WELCOME's zone: a device set to another zone reads no FUTURE_READ", async () => {
    const r = await rig('rev2_zone');
    await r.service.start();
    cleanup.push(() => r.service.stop());
    // The device's own setting is 14 hours ahead of UTC; the utility is in Chicago.
    const d = handheld(r.ctx, { deviceId: 'HH-0003', port: r.port, zone: 'Pacific/Kiritimati' });
    const welcomed = nextEvent<[MessageOf<typeof FrameType.WELCOME>]>(d, 'welcome');
    await d.start();
    cleanup.push(() => d.stop());
    expect((await welcomed)[0].zone).toBe('America/Chicago');
    const loaded = nextEvent(d, 'loaded', 30_000);
    await assignRoute(r.ctx, { routeCode: r.routes[0]!, deviceId: 'HH-0003', actor: 'csr:test' });
    await loaded;
    d.readRoutes();
    const cleared = nextEvent(d, 'cleared', 30_000);
    await d.sayHolding();
    await cleared;
    expect(await r.db('exceptions').where({ kind: 'FUTURE_READ' }).first()).toBeUndefined();
    const route = (await r.db('routes').where({ route_code: r.routes[0] }).first())!;
    expect(Number((await r.db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n)).toBe(
      route.records,
    );
  });

  it('unloads a route read while docked once the device says HOLDING, in the same session', async () => {
    const r = await rig('rev2_holding');
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = handheld(r.ctx, { deviceId: 'HH-0004', port: r.port, readAfterLoadMs: 300 });
    let welcomes = 0;
    d.on('welcome', () => welcomes++);
    const welcomed = nextEvent(d, 'welcome');
    await d.start();
    cleanup.push(() => d.stop());
    await welcomed;
    const cleared = nextEvent(d, 'cleared', 30_000);
    await assignRoute(r.ctx, { routeCode: r.routes[1]!, deviceId: 'HH-0004', actor: 'csr:test' });
    await cleared;
    expect(welcomes).toBe(1);
    await waitFor(
      () => r.db('routes').where({ route_code: r.routes[1], state: 'cleared' }).first(),
      'the route to be recorded cleared',
    );
  });

  it('drops a damaged and an out-of-order frame, and counts them by reason', async () => {
    const r = await rig('rev2_dropped');
    const dev = await rawDevice(r);
    const hello = { device: 'HH-0005', proto: 1, maxFrame: 1024, window: 8, routes: [] };
    await dev.send(FrameType.HELLO, 0, encodeMessage(FrameType.HELLO, hello));
    await waitFor(() => dev.got.find((f) => f.type === FrameType.WELCOME), 'WELCOME');
    await dev.send(FrameType.ACK, 0, seqPayload(0));
    await waitFor(() => r.service.status()[0]!.device?.id === 'HH-0005' || undefined, 'the session');
    // A frame with its CRC broken, then seq 3 while 1 is expected.
    const body = encodeBody({ type: FrameType.BYE, seq: 1, payload: Buffer.alloc(0) });
    body[body.length - 1]! ^= 0xff;
    await dev.transport.write(slipEncode(body));
    await dev.send(FrameType.BYE, 3, Buffer.alloc(0));
    await waitFor(() => r.service.status()[0]!.counters.dropped >= 2 || undefined, 'two frames dropped');
    expect(r.service.status()[0]!.counters.droppedBy).toEqual({ CRC: 1, GAP: 1 });
    // Each drop NAKs the frame expected next.
    expect(dev.got.filter((f) => f.type === FrameType.NAK).map((f) => f.payload.readUInt16BE(0))).toContain(1);
  });
});
