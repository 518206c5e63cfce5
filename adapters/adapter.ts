/**
 * The contract every adapter in adapters/<system>/ follows (design.md, "Ports and adapters"):
 * a small lifecycle, a health report, and typed events carrying records to the core. Codecs
 * stay pure (bytes or text in, typed records or typed errors out); I/O stays thin. Adapters
 * never talk to billing or to each other.
 */

import type { EventEmitter } from 'node:events';

export type AdapterState = 'stopped' | 'starting' | 'running' | 'degraded' | 'stopping';

export interface AdapterHealth {
  state: AdapterState;
  /** What a person needs to know: "port /dev/ttyUSB0 reopening in 4 s (attempt 3)". */
  detail: string;
  since: string;
}

export interface Adapter<Events extends Record<keyof Events, unknown[]>> extends EventEmitter<Events> {
  readonly name: string;
  /** Starts I/O. Resolves once running; a failure to start rejects with a typed error. */
  start(): Promise<void>;
  /** Stops I/O, clears timers and listeners, and lets work in flight finish or roll back. */
  stop(): Promise<void>;
  health(): AdapterHealth;
}

/** A health report, with `since` kept while the state stays the same. */
export class HealthTracker {
  private current: AdapterHealth;

  constructor(state: AdapterState = 'stopped', detail = 'not started') {
    this.current = { state, detail, since: new Date().toISOString() };
  }

  set(state: AdapterState, detail: string): AdapterHealth {
    if (state !== this.current.state) this.current = { state, detail, since: new Date().toISOString() };
    else this.current = { ...this.current, detail };
    return this.current;
  }

  get(): AdapterHealth {
    return this.current;
  }
}
