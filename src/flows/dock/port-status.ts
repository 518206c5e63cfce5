/** What a CSR sees of one dock (CLI, API, console over SSE). */

import type { DockPort } from '../../../adapters/handheld-serial/dock-port.js';
import type { TransferProgress } from '../../../adapters/handheld-serial/gateway-session.js';
import { TransferTracker, type TransferStatus } from './transfer-progress.js';

export interface DockStatus {
  name: string;
  port: string;
  phase: DockPort['phase'];
  detail: string;
  since: string;
  device: {
    id: string;
    model: string | null;
    firmware: string | null;
    battery: number | null;
    clockSkewSeconds: number | null;
    session: string;
    dockedAt: string;
  } | null;
  routes: { route: string; cycle: string | null; records: number; read: number; state: string }[];
  transfer: TransferStatus | null;
  /** The last thing that happened on this dock, in words. */
  last: string | null;
  counters: DockPort['counters'];
}

const EMIT_EVERY_MS = 250;

/**
 * One dock's status as it changes: its port's phase, the docked device and its routes, the
 * transfer under way (rate and time left) and the last thing that happened. Published at once for
 * what a CSR must see now, and at most every 250 ms for transfer progress.
 */
export class PortStatus {
  readonly status: DockStatus;
  private tracker: TransferTracker | null = null;
  private lastEmit = 0;

  constructor(
    readonly port: DockPort,
    name: string,
    path: string,
    private readonly emit: (status: DockStatus) => void,
  ) {
    this.status = {
      name,
      port: path,
      phase: port.phase,
      detail: port.detail,
      since: port.since,
      device: null,
      routes: [],
      transfer: null,
      last: null,
      counters: port.counters,
    };
  }

  /** The port moved to another phase; off the dock, nothing of the device is shown any more. */
  phase(phase: DockPort['phase'], detail: string): void {
    Object.assign(this.status, { phase, detail, since: this.port.since });
    if (phase !== 'docked') Object.assign(this.status, { device: null, routes: [], transfer: null });
    this.publish(true);
  }

  /** A transfer begins (or begins again): its rate is measured afresh. */
  startTransfer(): void {
    this.tracker = null;
  }

  endTransfer(): void {
    this.tracker = null;
    this.status.transfer = null;
  }

  progress(p: TransferProgress, recordBytes: number): void {
    const now = Date.now();
    const t = this.tracker;
    if (!t || t.status.route !== p.route || t.status.direction !== p.direction)
      this.tracker = new TransferTracker(
        { direction: p.direction, route: p.route, bytesTotal: p.bytesTotal, fromOffset: p.fromOffset },
        recordBytes,
        now,
      );
    this.status.transfer = this.tracker!.update(p.bytesDone, p.bytesTotal, now);
    this.publish(p.bytesDone >= p.bytesTotal);
  }

  /** Something happened: said in words, and the route's state on the dock updated with it. */
  note(what: string, route?: string, routeState?: string): void {
    this.status.last = `${new Date().toISOString()} ${what}`;
    if (route && routeState) {
      const entry = this.status.routes.find((r) => r.route === route);
      if (entry) entry.state = routeState;
      if (routeState === 'cleared') this.status.routes = this.status.routes.filter((r) => r.route !== route);
    }
    this.publish(true);
  }

  publish(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastEmit < EMIT_EVERY_MS) return;
    this.lastEmit = now;
    this.emit({ ...this.status, counters: { ...this.port.counters } });
  }
}
