import type { SentReading } from './invariants.js';
import type { GatewayApi } from './traffic.js';

/**
 * The field app's sync, scripted: the same REST calls the app on a reader's phone makes, through
 * the run's faults (a killed gateway, a store cut off, a clock jump ending the session). It
 * downloads the route assigned to it, confirms it, reads every meter, and sends the readings in
 * batches that keep their id and content until the gateway answers, each with a register photo
 * sent before it. Now and then an answer is taken as lost although it came (as when the
 * connection drops after the gateway's commit) and the batch is sent again: it must be stored once.
 */
export interface AppRun {
  readings: SentReading[];
  /** Distinct photos sent (by their bytes): each must be kept once. */
  photos: number;
  /** Batches sent again after an answer taken as lost; each must be answered as a duplicate. */
  resent: number;
}

const BATCH = 8;
const ok = (s: number) => s === 200 || s === 201;

export async function readRouteInTheApp(
  api: GatewayApi,
  routeCode: string,
  opts: { seed: number; rnd: () => number; device: string },
): Promise<AppRun> {
  const { json: route } = await api.until('GET', `/api/reader/routes/${routeCode}`, undefined, 'reader', ok);
  await api.until('POST', `/api/reader/routes/${routeCode}/confirm`, { sha256: route.sha256 }, 'reader', ok);
  const records = route.records as Record<string, string | number>[];
  const run: AppRun = { readings: [], photos: 0, resent: 0 };
  for (let from = 0, n = 1; from < records.length; from += BATCH, n++) {
    const chunk = records.slice(from, from + BATCH);
    const readings = chunk.map((rec) => {
      const dials = Number(rec.dials);
      const prev = Number(rec.prev_read);
      const units = (to: number) => (to - prev + 10 ** dials) % 10 ** dials;
      const skip = opts.rnd() < 0.12;
      // Whole seconds: the read layout keeps no more.
      const readAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      const reading = skip
        ? null
        : (prev + Math.floor((units(Number(rec.low_limit)) + units(Number(rec.high_limit))) / 2)) % 10 ** dials;
      run.readings.push({
        device: opts.device,
        meterId: String(rec.meter_id),
        register: Number(rec.register),
        value: reading,
        readAt: readAt.replace('.000Z', 'Z'),
      });
      return {
        sequence: Number(rec.sequence),
        account: String(rec.account),
        meterId: String(rec.meter_id),
        register: Number(rec.register),
        reading,
        readAt,
        skipCode: skip ? 'LOCK' : null,
        lat: 39.78,
        lon: -89.65,
      };
    });
    // A register photo of the batch's first meter: a JPEG's markers around bytes of this run and batch.
    const first = chunk[0]!;
    const photo = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      Buffer.from(`fault run ${opts.seed} batch ${n}`.padEnd(400, '.')),
      Buffer.from([0xff, 0xd9]),
    ]);
    const where = new URLSearchParams({
      route: routeCode,
      cycle: route.cycle,
      meter: String(first.meter_id),
      register: String(first.register),
    });
    await api.until('PUT', `/api/reader/photos?${where}`, photo, 'reader', ok);
    run.photos++;
    const batch = {
      batchId: `fault-${opts.seed}-${n}`,
      route: routeCode,
      cycle: route.cycle,
      final: from + BATCH >= records.length,
      readings,
    };
    const answer = await api.until('POST', '/api/reader/readings', batch, 'reader', ok);
    if (opts.rnd() < 0.3) {
      // The answer "lost": the same batch again, which the gateway must know.
      const again = await api.until('POST', '/api/reader/readings', batch, 'reader', ok);
      run.resent++;
      if (again.status !== 200 || again.json?.status !== 'duplicate')
        throw new Error(
          `batch ${batch.batchId} sent again was answered ${again.status} ${JSON.stringify(again.json).slice(0, 200)} ` +
            `(first answer ${answer.status}), not as a duplicate`,
        );
    }
  }
  return run;
}
