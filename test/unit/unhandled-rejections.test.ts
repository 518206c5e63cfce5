import { describe, expect, it, vi } from 'vitest';
import winston from 'winston';
import Transport from 'winston-transport';
import { handleUnhandledRejections } from '../../src/entry/unhandled.js';

/**
 * Fault suite finding "PostgreSQL connections cut": with the store on PostgreSQL, a cut left an
 * unhandled rejection ("Connection terminated unexpectedly", from knex's pg client) and Node
 * ended the gateway. A lost connection is now logged and the gateway goes on; any other
 * unhandled rejection still ends the process (non-zero) for its supervisor to restart.
 */
describe('unhandled rejections in the running gateway', () => {
  function harness() {
    const lines: { level: string; message: string }[] = [];
    const sink = new (class extends Transport {
      override log(info: { level: string; message: string }, next: () => void) {
        lines.push({ level: info.level, message: info.message });
        next();
      }
    })();
    const exit = vi.fn();
    const handler = handleUnhandledRejections(winston.createLogger({ transports: [sink] }), exit);
    return { lines, exit, handler, done: () => process.off('unhandledRejection', handler) };
  }

  it('fault finding postgres connections cut: goes on after a lost database connection, and says so', () => {
    const h = harness();
    try {
      h.handler(new Error('Connection terminated unexpectedly'));
      expect(h.exit).not.toHaveBeenCalled();
      expect(h.lines).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(/database connection was lost .*Connection terminated unexpectedly; going on/),
        },
      ]);
    } finally {
      h.done();
    }
  });

  it('exits non-zero on any other unhandled rejection, with the reason logged', () => {
    const h = harness();
    try {
      h.handler(new TypeError('cannot read properties of undefined'));
      expect(h.exit).toHaveBeenCalledWith(1);
      expect(h.lines[0]).toMatchObject({
        level: 'error',
        message: expect.stringMatching(/unhandled promise rejection, exiting: cannot read properties/),
      });
    } finally {
      h.done();
    }
  });
});
