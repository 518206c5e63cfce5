import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameType, type Frame } from '../../adapters/handheld-serial/codec/frame.js';
import { SlipFrameParser, type ParsedItem } from '../../adapters/handheld-serial/codec/slip-parser.js';
import {
  SerialTransport,
  TcpTransport,
  transportFor,
  type Transport,
} from '../../adapters/handheld-serial/transport.js';
import { ptyPair, type PtyPair } from '../helpers/pty.js';

/** Collects the frames a transport receives. */
function frames(t: Transport): Frame[] {
  const parser = new SlipFrameParser({ maxFrame: 4096 });
  const out: Frame[] = [];
  parser.on('data', (item: ParsedItem) => 'frame' in item && out.push(item.frame));
  t.on('data', (d) => parser.write(d));
  return out;
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const sameFrame = (a: Frame, b: Frame) => a.type === b.type && a.seq === b.seq && a.payload.equals(b.payload);

const big: Frame = { type: FrameType.DATA, seq: 0xc0db, payload: Buffer.alloc(4000, 0xc0) };

describe('hand-held transports', () => {
  let pty: PtyPair | undefined;
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    await pty?.pull();
    pty = undefined;
  });

  it('picks TCP for tcp://host:port and serial for a device path', () => {
    expect(transportFor('tcp://10.0.0.5:4001')).toBeInstanceOf(TcpTransport);
    expect(transportFor('/dev/ttyUSB0', { baudRate: 9600 }).description).toBe('/dev/ttyUSB0 @ 9600 8N1');
  });

  it('carries frames both ways over a real PTY pair and reports a pulled cable', async () => {
    // Each step has its own limit, so a hang (seen once under a full CI load) names the step.
    const step = <T>(name: string, work: Promise<T>, ms = 15_000) =>
      Promise.race([
        work,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${name}: no result within ${ms} ms`)), ms).unref(),
        ),
      ]);
    pty = await step('socat PTY pair', ptyPair());
    const gateway = new SerialTransport(pty.a, 115_200);
    const handheld = new SerialTransport(pty.b, 115_200);
    open.push(gateway, handheld);
    await step('open the gateway end', gateway.open());
    await step('open the hand-held end', handheld.open());
    const atHandheld = frames(handheld);
    const atGateway = frames(gateway);
    await step('write DATA', gateway.write(encodeFrame(big)));
    await step('write BYE', handheld.write(encodeFrame({ type: FrameType.BYE, seq: 1, payload: Buffer.alloc(0) })));
    await until(() => atHandheld.length === 1 && atGateway.length === 1).catch((e) => {
      throw new Error(`${e.message}: handheld got ${atHandheld.length}, gateway got ${atGateway.length}`);
    });
    expect(atHandheld[0]).toEqual(big);
    expect(atGateway[0]!.type).toBe(FrameType.BYE);

    const closed = new Promise<{ disconnected: boolean }>((r) => gateway.once('close', r));
    await step('pull the cable (kill socat)', pty.pull());
    await expect(step('the gateway end reports the pulled cable', closed)).resolves.toMatchObject({
      disconnected: true,
    });
  });

  it('says which port cannot be opened', async () => {
    await expect(new SerialTransport('/dev/no-such-port', 115_200).open()).rejects.toThrow(
      /cannot open \/dev\/no-such-port @ 115200 8N1/,
    );
  });

  it('carries frames over TCP to a serial device server and tells a peer close from our own', async () => {
    const peers: Socket[] = [];
    const received: Buffer[] = [];
    const server = createServer((s) => {
      peers.push(s);
      s.on('data', (d) => {
        received.push(d);
        s.write(d);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const t = new TcpTransport('127.0.0.1', port);
      open.push(t);
      await t.open();
      const echoed = frames(t);
      await t.write(encodeFrame(big));
      await until(() => echoed.length === 1);
      expect(sameFrame(echoed[0]!, big)).toBe(true);

      const closed = new Promise<{ disconnected: boolean }>((r) => t.once('close', r));
      peers[0]!.destroy();
      await expect(closed).resolves.toMatchObject({ disconnected: true });

      const again = new TcpTransport('127.0.0.1', port);
      await again.open();
      const ours = new Promise<{ disconnected: boolean }>((r) => again.once('close', r));
      await again.close();
      await expect(ours).resolves.toMatchObject({ disconnected: false });
    } finally {
      server.close();
      peers.forEach((p) => p.destroy());
    }
  });

  it('says which server cannot be reached', async () => {
    await expect(new TcpTransport('127.0.0.1', 1).open()).rejects.toThrow(
      /cannot connect to tcp:\/\/127.0.0.1:1: .*ECONNREFUSED/,
    );
  });
});
