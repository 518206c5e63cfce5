import path from 'node:path';
import type { Command } from 'commander';
import { layoutLoader } from '../../flows/context.js';
import { AppError } from '../../errors.js';
import { FieldDevice } from '../../flows/sim/field-device/device.js';
import type { CliKit } from './dock-cli.js';

/**
 * `fieldgate sim field-device`: a tablet or hand-held in the field on MQTT. It takes the routes
 * published to it, reads each one (after --read-after seconds), and sends the readings in
 * batches; with --offline-for it drops off the network while reading and catches up later.
 */
const whole = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new AppError('USAGE', `--${name} is a whole number`, { field: name });
  return n;
};

export function registerSimField(sim: Command, kit: CliKit): void {
  sim
    .command('field-device')
    .description(
      'a field device syncing over MQTT: receives routes, reads them, sends readings in batches; queues on disk ' +
        'while offline',
    )
    .requiredOption('--mqtt <url>', 'the broker, e.g. mqtt://127.0.0.1:1884 (printed by fieldgate start)')
    .requiredOption('--device <id>', 'device id, e.g. T-17 (its MQTT username)')
    .option('--secret <secret>', 'its secret (fieldgate devices secret T-17); or FIELDGATE_DEVICE_SECRET')
    .option('--dir <dir>', "the device's storage (default: <dataDir>/sim/<device>)")
    .option('--batch-size <n>', 'readings per batch', whole('batch-size'), 50)
    .option('--read-after <seconds>', 'read a route this long after it arrives', whole('read-after'), 5)
    .option('--resend <seconds>', 'send a batch again after this long without an acknowledgement', whole('resend'), 30)
    .option('--offline-for <seconds>', 'go offline while reading, for this long, then catch up', whole('offline-for'))
    .option('--seed <n>', 'random seed for the readings', whole('seed'), 1)
    .option(
      '--journal <file>',
      'append a copy of every reading made to this file (to check later what reached billing)',
    )
    .action(
      async (
        opts: {
          mqtt: string;
          device: string;
          secret?: string;
          dir?: string;
          batchSize: number;
          readAfter: number;
          offlineFor?: number;
          seed: number;
          journal?: string;
          resend: number;
        },
        cmd: Command,
      ) => {
        const config = kit.configOf(cmd);
        const layouts = layoutLoader(config);
        const say = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
        const device = new FieldDevice({
          deviceId: opts.device,
          url: opts.mqtt,
          secret: opts.secret ?? process.env.FIELDGATE_DEVICE_SECRET,
          prefix: config.mqtt.prefix,
          dir: opts.dir ?? path.resolve(config.dataDir, 'sim', opts.device),
          batchSize: opts.batchSize,
          resendMs: opts.resend * 1000,
          reading: {
            routeLayout: layouts(config.layouts.route),
            readLayout: layouts(config.layouts.read),
            zone: config.timeZone,
            readerId: 'TAB01',
            seed: opts.seed,
            journal: opts.journal,
          },
          log: say,
        });
        device.on('connected', () =>
          say(`${opts.device}: connected to ${opts.mqtt}; ${device.queued().length} batch(es) queued`),
        );
        device.on('route', (r) => {
          say(`${opts.device}: route ${r.route} received (${r.records} records); reading it in ${opts.readAfter} s`);
          setTimeout(() => {
            if (opts.offlineFor) {
              device.goOffline();
              say(`${opts.device}: offline for ${opts.offlineFor} s`);
              setTimeout(() => {
                device.goOnline();
                say(`${opts.device}: back online`);
              }, opts.offlineFor * 1000);
            }
            say(`${opts.device}: ${device.readRoutes()} batch(es) of readings queued`);
          }, opts.readAfter * 1000);
        });
        device.on('acked', (a) =>
          say(`${opts.device}: batch ${a.batchId} ${a.status}: ${a.stored} stored, ${a.rejected} rejected`),
        );
        device.on('gatewayError', (e) =>
          say(`${opts.device}: gateway refused ${e.batchId ?? 'a message'}: ${e.message}`),
        );
        await device.start();
        await new Promise<void>((resolve) => {
          const stop = () => void device.stop().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    );
}
