import type { Frame } from './codec/frame.js';

/**
 * The frames a session has received in order and not yet handled, and the one place a session
 * waits for the next of them with a named timeout (zigbee-herdsman's "waitress", kept small).
 * When the link dies or a HELLO resets the session, the waiting side fails at once.
 */
export class ReplyTimeoutError extends Error {
  readonly code = 'REPLY_TIMEOUT';
}

export class Inbox {
  private items: Frame[] = [];
  private waiter: { resolve(frame: Frame): void; reject(err: Error): void; timer: NodeJS.Timeout } | null = null;
  private failure: Error | null = null;

  push(frame: Frame): void {
    if (this.failure) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
    } else this.items.push(frame);
  }

  /** Ends the inbox: the current and every later `next()` rejects with `err`. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.items = [];
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
  }

  get failed(): Error | null {
    return this.failure;
  }

  next(timeoutMs: number, waitingFor: string): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const ready = this.items.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new ReplyTimeoutError(`no ${waitingFor} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }
}
