import http from 'node:http';

/**
 * An open-loop load generator: requests are sent on a fixed schedule (one every 1/rate s,
 * spread over keep-alive connections the way a room of CSRs' browsers would send them),
 * whatever the server's answers are doing, and each latency is measured from the moment the
 * request was due, so a stalled server cannot hide its queue (no coordinated omission).
 * autocannon paces each connection on its own timer, all in step: that is the bursty row.
 */
export interface LoadResult {
  requests: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

export function openLoop(opts: {
  base: string;
  paths: string[];
  rate: number;
  seconds: number;
  connections: number;
  headers: Record<string, string>;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let done = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      resolve({
        requests: done,
        rate: done / ((performance.now() - started) / 1000),
        p50: at(0.5),
        p99: at(0.99),
        max: sorted.at(-1) ?? 0,
        errors,
      });
    };
    const fire = (due: number, path: string) => {
      const req = http.get(opts.base + path, { agent, headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode! >= 300) errors++;
          latencies.push(performance.now() - due);
          if (++done === total) finish();
        });
      });
      req.on('error', () => {
        errors++;
        if (++done === total) finish();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + sent * interval <= now) {
        fire(started + sent * interval, opts.paths[sent % opts.paths.length]!);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
    };
    tick();
  });
}
