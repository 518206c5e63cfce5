/**
 * Live progress of one transfer as a CSR wants to see it: bytes, records, rate and time left.
 * The rate is taken over the last few seconds, so a stall shows at once instead of being
 * averaged away. Pure: time comes in with each update.
 */

export interface TransferStatus {
  direction: 'load' | 'unload';
  route: string;
  bytesDone: number;
  bytesTotal: number;
  fromOffset: number;
  records: number;
  recordsTotal: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
  startedAt: string;
}

const WINDOW_MS = 5000;

export class TransferTracker {
  private samples: { at: number; bytes: number }[] = [];
  status: TransferStatus;

  constructor(
    init: { direction: 'load' | 'unload'; route: string; bytesTotal: number; fromOffset: number },
    private readonly recordBytes: number,
    now: number,
  ) {
    this.status = {
      ...init,
      bytesDone: init.fromOffset,
      records: Math.floor(init.fromOffset / recordBytes),
      recordsTotal: Math.round(init.bytesTotal / recordBytes),
      bytesPerSecond: 0,
      secondsLeft: null,
      startedAt: new Date(now).toISOString(),
    };
    this.samples.push({ at: now, bytes: init.fromOffset });
  }

  update(bytesDone: number, bytesTotal: number, now: number): TransferStatus {
    this.samples.push({ at: now, bytes: bytesDone });
    while (this.samples.length > 2 && now - this.samples[1]!.at > WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (now - first.at) / 1000;
    const rate = seconds > 0.2 ? (bytesDone - first.bytes) / seconds : 0;
    this.status = {
      ...this.status,
      bytesDone,
      bytesTotal,
      records: Math.floor(bytesDone / this.recordBytes),
      recordsTotal: Math.round(bytesTotal / this.recordBytes),
      bytesPerSecond: Math.round(rate),
      secondsLeft: rate > 0 ? Math.ceil((bytesTotal - bytesDone) / rate) : null,
    };
    return this.status;
  }
}
