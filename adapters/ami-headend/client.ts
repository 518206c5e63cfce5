/**
 * A head-end's paged export over HTTP: GET <url><path>?<cursor>=…&<limit>=…, JSON back with a
 * list of items and the cursor of the next page. Retries with exponential backoff and full
 * jitter on network errors, timeouts, 5xx and bodies that are cut off or not JSON; honours
 * 429 Retry-After (seconds or an HTTP date). Any other 4xx is the caller's mistake and is not
 * retried. Pure of the store: the caller keeps the cursor.
 */

import { setTimeout as sleep } from 'node:timers/promises';

export interface HeadEndOptions {
  url: string;
  token: string | null;
  pageSize: number;
  timeoutMs: number;
  /** Attempts per page, the first included. */
  attempts: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  query: { cursor: string; limit: string };
  response: { items: string; nextCursor: string };
}

export interface HeadEndPage {
  items: unknown[];
  nextCursor: string | null;
  /** The body as received, for the batch key: the same page twice is stored once. */
  body: string;
  attempts: number;
}

export class HeadEndError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'HeadEndError';
  }
}

export class HeadEndClient {
  constructor(
    private readonly o: HeadEndOptions,
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown> = (ms, signal) =>
      sleep(ms, undefined, { signal }),
    private readonly random: () => number = Math.random,
  ) {}

  /** One page of `path` after `cursor` (null: from the start), retried as above. */
  async page(path: string, cursor: string | null, signal?: AbortSignal): Promise<HeadEndPage> {
    let last: HeadEndError | null = null;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      try {
        return { ...(await this.fetchOnce(path, cursor, signal)), attempts: attempt };
      } catch (err) {
        if (signal?.aborted) throw err;
        last = err instanceof HeadEndError ? err : new HeadEndError(`network: ${(err as Error).message}`, null, true);
        if (!last.retryable || attempt === this.o.attempts) break;
        await this.wait(
          last.status === 429 && retryAfter(last) !== null ? retryAfter(last)! : this.backoff(attempt),
          signal,
        );
      }
    }
    throw new HeadEndError(
      `${path} after cursor ${cursor ?? '(start)'}: ${last!.message} (gave up after ${this.o.attempts} attempts)`,
      last!.status,
      false,
    );
  }

  /** Full jitter: a random wait up to min(max, min × 2^(attempt-1)). */
  backoff(attempt: number): number {
    const cap = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** (attempt - 1));
    return Math.round(this.random() * cap);
  }

  private async fetchOnce(
    path: string,
    cursor: string | null,
    signal?: AbortSignal,
  ): Promise<Omit<HeadEndPage, 'attempts'>> {
    const url = new URL(path.replace(/^\//, ''), this.o.url.endsWith('/') ? this.o.url : `${this.o.url}/`);
    if (cursor !== null) url.searchParams.set(this.o.query.cursor, cursor);
    url.searchParams.set(this.o.query.limit, String(this.o.pageSize));
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}) },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      body = await res.text();
    } catch (err) {
      if (timeout.aborted && !signal?.aborted)
        throw new HeadEndError(`no answer within ${this.o.timeoutMs} ms`, null, true);
      throw err;
    }
    if (res.status === 429)
      throw Object.assign(new HeadEndError('429 Too Many Requests', 429, true), {
        retryAfter: res.headers.get('retry-after'),
      });
    if (res.status >= 500) throw new HeadEndError(`${res.status} ${res.statusText}`.trim(), res.status, true);
    if (res.status >= 400)
      throw new HeadEndError(`${res.status} ${res.statusText}: ${body.slice(0, 200)}`.trim(), res.status, false);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      // A body cut off mid-way is the usual cause: a dropped connection. Worth another try.
      throw new HeadEndError(
        `the answer is not JSON (${body.length} bytes: ${(err as Error).message})`,
        res.status,
        true,
      );
    }
    const items = (json as Record<string, unknown> | null)?.[this.o.response.items];
    const next = (json as Record<string, unknown> | null)?.[this.o.response.nextCursor];
    if (!Array.isArray(items))
      throw new HeadEndError(`the answer has no '${this.o.response.items}' list`, res.status, false);
    if (next !== null && next !== undefined && typeof next !== 'string')
      throw new HeadEndError(`'${this.o.response.nextCursor}' is not a string or null`, res.status, false);
    return { items, nextCursor: next ?? null, body };
  }
}

/** Retry-After in ms: delta-seconds or an HTTP date; null when absent or unreadable. */
function retryAfter(err: HeadEndError): number | null {
  const v = (err as HeadEndError & { retryAfter?: string | null }).retryAfter;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
