import { describe, expect, it } from 'vitest';
import { inTurn } from '../../src/core/in-turn.js';

/** The lanes AMI files are imported in (ami.parallelImports). */
describe('inTurn', () => {
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('runs at most `limit` at once, starting them in order', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    await inTurn([1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      started.push(n);
      most = Math.max(most, ++running);
      await tick();
      running--;
    });
    expect(most).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('finishes the others before it rejects with the first failure', async () => {
    const done: string[] = [];
    await expect(
      inTurn(['a', 'bad', 'c', 'd'], 2, async (x) => {
        await tick();
        if (x === 'bad') throw new Error('bad file');
        done.push(x);
      }),
    ).rejects.toThrow('bad file');
    expect(done.sort()).toEqual(['a', 'c', 'd']);
  });

  it('does nothing for no items, and treats a limit below one as one', async () => {
    await inTurn([], 4, () => Promise.reject(new Error('never')));
    const order: number[] = [];
    await inTurn([1, 2], 0, async (n) => void order.push(n));
    expect(order).toEqual([1, 2]);
  });
});
