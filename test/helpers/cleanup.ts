import { afterEach } from 'vitest';

/**
 * What a test starts (gateways, brokers, PTYs, devices) is stopped after it, in the reverse order
 * it was started: `const cleanup = cleanupAfterEach(); … cleanup.push(() => thing.stop());`.
 */
/** Where a test (or a helper it calls) registers what to stop. */
export interface Cleanup {
  push(...fns: (() => unknown)[]): void;
}

export function cleanupAfterEach(): Cleanup {
  const fns: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of fns.splice(0).reverse()) await fn();
  });
  return { push: (...more) => void fns.push(...more) };
}
