import { randomBytes } from 'node:crypto';
import { Duplex, Readable, Writable } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * MQTT 5 clients on the embedded broker. aedes speaks MQTT 3.1.1 only and refuses a v5 CONNECT
 * ("Unacceptable protocol version"), while Home Assistant, recent wmbusmeters builds and most
 * new device firmware speak 5. This bridge sits between a client's socket and aedes: a
 * connection whose CONNECT says level 5 is parsed as MQTT 5, each packet handed to aedes as its
 * 3.1.1 equivalent, and aedes's answers written back as MQTT 5; any other connection passes
 * through byte for byte. What 3.1.1 cannot carry is dropped (message and user properties, will
 * delay, subscription options), and the CONNACK says what the broker does not offer (no topic
 * aliases, no shared subscriptions, no subscription identifiers) so a client does not rely on it.
 */

/** The CONNECT's protocol level from a connection's first bytes: undefined while too few have come, null when not a CONNECT. */
export function connectLevel(buf: Buffer): number | null | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== 0x10) return null;
  let i = 1;
  for (; ; i++) {
    if (i > 4) return null;
    if (i >= buf.length) return undefined;
    if (!(buf[i]! & 0x80)) break;
  }
  i++;
  if (buf.length < i + 2) return undefined;
  const nameLength = buf.readUInt16BE(i);
  if (nameLength > 6) return null;
  const at = i + 2 + nameLength;
  return at < buf.length ? buf[at]! : undefined;
}

/** A PUBLISH without its MQTT 5 properties: what both versions carry. */
function bare(p: mqttPacket.IPublishPacket): Packet {
  return {
    cmd: 'publish',
    topic: p.topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    dup: p.dup,
    messageId: p.messageId,
  };
}

/** A 3.1.1 CONNACK return code as an MQTT 5 reason code. */
const CONNACK_REASON: Record<number, number> = {
  0: 0x00,
  1: 0x84, // unsupported protocol version
  2: 0x85, // client identifier not valid
  3: 0x88, // server unavailable
  4: 0x86, // bad user name or password
  5: 0x87, // not authorized
};

const PROTOCOL_ERROR = 0x82;
const TOPIC_ALIAS_INVALID = 0x94;
const BAD_AUTH_METHOD = 0x8c;
const NOT_AUTHORIZED = 0x87;
/** DISCONNECT "with will message": the client asks for its will to be sent. */
const DISCONNECT_WITH_WILL = 0x04;
/** Bytes to wait for before a first packet is taken for plain 3.1.1 (a CONNECT says its level within 14). */
const SNIFF_BYTES = 16;

export interface Mqtt5BridgeOptions {
  /** The largest packet the broker takes from this client now (raised for the gateway once it logged in). */
  maxPacketBytes: () => number;
  /** A v5 client broke the protocol; the connection is closed. */
  onProtocolError: (message: string) => void;
}

/**
 * The stream aedes is handed for one connection: bytes from `inbound` (the client, behind the
 * packet guard) and to `socket`. Back-pressure holds both ways: aedes not reading pauses the
 * client, and a slow client pauses aedes's writes.
 */
export function mqtt5Bridge(inbound: Readable, socket: Duplex, opts: Mqtt5BridgeOptions): Duplex {
  let mode: 'sniff' | 'plain' | 'v5' = 'sniff';
  let held: Buffer = Buffer.alloc(0);
  let assignedId: string | null = null;
  let v5In: ReturnType<typeof mqttPacket.parser> | null = null;
  let v4Out: ReturnType<typeof mqttPacket.parser> | null = null;
  const unsubscribed = new Map<number, number>();

  const toBroker = new Readable({
    read: () => {
      inbound.resume();
    },
    destroy: (err, done) => {
      inbound.destroy();
      done(err);
    },
  });
  const push = (bytes: Buffer): void => {
    if (!toBroker.push(bytes)) inbound.pause();
  };
  const sendV5 = (packet: Packet): void => {
    socket.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  };
  const refuse = (reasonCode: number, message: string, connecting: boolean): void => {
    opts.onProtocolError(message);
    if (connecting) sendV5({ cmd: 'connack', sessionPresent: false, reasonCode } as Packet);
    else sendV5({ cmd: 'disconnect', reasonCode } as Packet);
    socket.end();
    toBroker.destroy();
  };

  const fromClient = (p: Packet): void => {
    switch (p.cmd) {
      case 'connect': {
        const props = p.properties ?? {};
        if (props.authenticationMethod)
          return refuse(
            BAD_AUTH_METHOD,
            `MQTT 5 enhanced authentication (${props.authenticationMethod}) is not offered`,
            true,
          );
        if (!p.clientId) assignedId = `fg5-${randomBytes(8).toString('hex')}`;
        const will = p.will
          ? { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain }
          : undefined;
        return push(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            // A session that outlives the connection is a 3.1.1 persistent session.
            clean: (props.sessionExpiryInterval ?? 0) === 0,
            clientId: p.clientId || assignedId!,
            keepalive: p.keepalive,
            username: p.username,
            password: p.password,
            will,
          } as Packet),
        );
      }
      case 'publish':
        if (p.properties?.topicAlias !== undefined)
          return refuse(
            TOPIC_ALIAS_INVALID,
            'topic alias used, but the broker offers none (Topic Alias Maximum 0)',
            false,
          );
        return push(mqttPacket.generate(bare(p), { protocolVersion: 4 }));
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        return push(mqttPacket.generate({ cmd: p.cmd, messageId: p.messageId } as Packet));
      case 'subscribe':
        return push(
          mqttPacket.generate({
            cmd: 'subscribe',
            messageId: p.messageId,
            subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })),
          } as Packet),
        );
      case 'unsubscribe':
        unsubscribed.set(p.messageId!, p.unsubscriptions.length);
        return push(
          mqttPacket.generate({
            cmd: 'unsubscribe',
            messageId: p.messageId,
            unsubscriptions: p.unsubscriptions,
          } as Packet),
        );
      case 'pingreq':
        return push(mqttPacket.generate({ cmd: 'pingreq' }));
      case 'disconnect':
        // Closing without a DISCONNECT is how a 3.1.1 broker is told to send the will.
        if (p.reasonCode === DISCONNECT_WITH_WILL) return void toBroker.destroy();
        return push(mqttPacket.generate({ cmd: 'disconnect' }));
      default:
        return refuse(PROTOCOL_ERROR, `MQTT 5 ${p.cmd} packet not supported`, false);
    }
  };

  const fromBroker = (p: Packet): void => {
    switch (p.cmd) {
      case 'connack': {
        const ok = p.returnCode === 0;
        return sendV5({
          cmd: 'connack',
          sessionPresent: p.sessionPresent,
          reasonCode: CONNACK_REASON[p.returnCode ?? 0] ?? 0x80,
          properties: ok
            ? {
                topicAliasMaximum: 0,
                wildcardSubscriptionAvailable: true,
                sharedSubscriptionAvailable: false,
                subscriptionIdentifiersAvailable: false,
                retainAvailable: true,
                maximumPacketSize: opts.maxPacketBytes(),
                ...(assignedId ? { assignedClientIdentifier: assignedId } : {}),
              }
            : undefined,
        } as Packet);
      }
      case 'publish':
        return sendV5(bare(p));
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        return sendV5({ cmd: p.cmd, messageId: p.messageId, reasonCode: 0 } as Packet);
      case 'suback':
        // A refused subscription is the broker's ACL: "not authorized" says so in MQTT 5.
        return sendV5({
          cmd: 'suback',
          messageId: p.messageId,
          granted: p.granted.map((g) => (g === 128 ? NOT_AUTHORIZED : (g as number))),
        } as Packet);
      case 'unsuback': {
        const count = unsubscribed.get(p.messageId!) ?? 1;
        unsubscribed.delete(p.messageId!);
        return sendV5({ cmd: 'unsuback', messageId: p.messageId, granted: new Array<number>(count).fill(0) } as Packet);
      }
      default:
        return sendV5(p);
    }
  };

  const startV5 = (): void => {
    mode = 'v5';
    v5In = mqttPacket.parser({ protocolVersion: 5 });
    v5In.on('packet', fromClient);
    v5In.on('error', (err: Error) => refuse(PROTOCOL_ERROR, `malformed MQTT 5 packet: ${err.message}`, false));
    v4Out = mqttPacket.parser({ protocolVersion: 4 });
    v4Out.on('packet', fromBroker);
    v4Out.on('error', () => socket.destroy());
  };

  inbound.on('data', (chunk: Buffer) => {
    if (mode === 'plain') return push(chunk);
    if (mode === 'v5') return void v5In!.parse(chunk);
    held = held.length ? Buffer.concat([held, chunk]) : chunk;
    const level = connectLevel(held);
    if (level === undefined && held.length < SNIFF_BYTES) return;
    const first = held;
    held = Buffer.alloc(0);
    if (level === 5) {
      startV5();
      v5In!.parse(first);
    } else {
      mode = 'plain';
      push(first);
    }
  });
  inbound.on('end', () => toBroker.push(null));
  inbound.on('close', () => {
    if (!toBroker.readableEnded) toBroker.destroy();
  });

  const toClient = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      if (mode === 'v5') v4Out!.parse(chunk);
      else socket.write(chunk);
      if (socket.writableNeedDrain) socket.once('drain', () => done());
      else done();
    },
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    },
  });
  return Duplex.from({ readable: toBroker, writable: toClient });
}
