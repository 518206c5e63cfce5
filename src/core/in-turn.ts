/**
 * Runs `work` over the items with at most `limit` running at once, starting each in the items'
 * order; resolves when all have settled and rejects with the first failure (after the rest are
 * done, so nothing is left running behind the caller's back).
 */
export async function inTurn<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
}
