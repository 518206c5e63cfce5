import { Transform, type TransformCallback } from 'node:stream';

/**
 * Sits between a client's socket and the embedded broker and reads only MQTT's fixed headers
 * (packet type, then the remaining length as a variable byte integer) to refuse a packet that is
 * too large from its header, before any of its body is read. aedes has no such limit and buffers
 * whatever length a packet announces (security probe: five CONNECTs announcing 200 MB took RSS
 * from 481 to 1,276 MB, before any login was checked). The first packet, CONNECT, is read before
 * the login is checked, so it has a smaller bound of its own. Bytes pass through unchanged.
 */
export class PacketTooLargeError extends Error {
  readonly code = 'MQTT_PACKET_TOO_LARGE';
  constructor(
    readonly announced: number,
    readonly limit: number,
    readonly connect: boolean,
  ) {
    super(
      `${connect ? 'CONNECT ' : ''}packet of ${announced.toLocaleString('en-US')} bytes refused (at most ` +
        `${limit.toLocaleString('en-US')})`,
    );
  }
}

export class MalformedPacketError extends Error {
  readonly code = 'MQTT_MALFORMED';
}

export class MqttPacketGuard extends Transform {
  private header: number[] = [];
  /** Body bytes of the current packet still to pass. */
  private remaining = 0;
  private first = true;

  constructor(
    private readonly maxConnectBytes: number,
    /** Raised for a connection the broker trusts (the gateway's own) once it has logged in. */
    public maxPacketBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        continue;
      }
      const byte = chunk[i++]!;
      this.header.push(byte);
      if (this.header.length === 1) continue;
      if (byte & 0x80) {
        if (this.header.length === 5) return done(new MalformedPacketError('remaining length longer than four bytes'));
        continue;
      }
      let length = 0;
      for (let k = this.header.length - 1; k >= 1; k--) length = length * 128 + (this.header[k]! & 0x7f);
      const limit = this.first ? this.maxConnectBytes : this.maxPacketBytes;
      if (length > limit) return done(new PacketTooLargeError(length, limit, this.first));
      this.first = false;
      this.header = [];
      this.remaining = length;
    }
    done(null, chunk);
  }
}
