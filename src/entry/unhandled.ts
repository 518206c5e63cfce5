import type { Logger } from 'winston';
import { isConnectionError } from '../infra/db/sql-utils.js';
import { errorMessage } from '../errors.js';

/**
 * What the running gateway does with a promise rejection nobody handled. knex, with pg, can
 * leave one behind when a database connection is cut in the middle of a query or transaction
 * (knex/knex#3523): the caller has its own error and retries, but Node's default would end the
 * whole gateway for the stray copy. A lost connection is logged and the gateway goes on; anything
 * else is a bug, logged with its stack, and the process exits non-zero as Node would, so that its
 * supervisor (systemd) starts it again. Found by the fault suite (PostgreSQL connections cut).
 */
export function handleUnhandledRejections(
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): (reason: unknown) => void {
  const handler = (reason: unknown) => {
    if (isConnectionError(reason)) {
      log.warn(
        `a database connection was lost under a query nobody was waiting for: ${errorMessage(reason)}; going on`,
        { module: 'gateway' },
      );
      return;
    }
    log.error(`unhandled promise rejection, exiting: ${errorMessage(reason)}`, {
      module: 'gateway',
      stack: (reason as Error | undefined)?.stack,
    });
    exit(1);
  };
  process.on('unhandledRejection', handler);
  return handler;
}
