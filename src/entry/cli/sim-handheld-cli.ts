import path from 'node:path';
import type { Command } from 'commander';
import { layoutLoader } from '../../flows/context.js';
import { AppError } from '../../errors.js';
import { HandheldDevice } from '../../flows/sim/handheld/device.js';
import type { FaultOptions } from '../../flows/sim/handheld/faults.js';
import type { CliKit } from './dock-cli.js';

/**
 * `fieldgate sim handheld`: a hand-held on the device side of FDP/1, docked on a serial port
 * (one end of a PTY pair or a USB cable) or, with tcp://host:port, playing the device behind a
 * serial device server (it listens; the gateway connects). Runs until Ctrl-C.
 */
const fraction = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new AppError('USAGE', `--${name} is a fraction from 0 to 1`, { field: name });
  return n;
};
const whole = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new AppError('USAGE', `--${name} is a whole number`, { field: name });
  return n;
};

interface SimOptions extends FaultOptions {
  port: string;
  device: string;
  dir?: string;
  baud: number;
  pace?: number;
  battery: number;
  maxFrame: number;
  read?: boolean;
  readAfterLoad?: number;
  journal?: string;
}

export function registerSimHandheld(sim: Command, kit: CliKit): void {
  sim
    .command('handheld')
    .description(
      'a simulated hand-held meter reader: loads routes, reads them, unloads readings, obeys CLEAR; keeps its files ' +
        'across restarts',
    )
    .requiredOption('--port <port>', 'serial device path, or tcp://host:port to listen as a serial device server')
    .requiredOption('--device <id>', 'device id, e.g. HH-0042')
    .option('--dir <dir>', "the device's flash (default: <dataDir>/sim/<device>)")
    .option('--baud <n>', 'serial baud rate', whole('baud'), 115_200)
    .option(
      '--pace <baud>',
      'send no faster than a UART at this baud (PTYs and sockets are otherwise unpaced)',
      whole('pace'),
    )
    .option('--battery <percent>', 'battery level reported in HELLO', whole('battery'), 87)
    .option('--max-frame <n>', 'largest frame the device offers', whole('max-frame'), 4096)
    .option('--read', 'read every loaded route before docking (the afternoon dock)')
    .option(
      '--read-after-load <seconds>',
      'read each route this long after it loads, then dock again (a whole day in one run)',
      whole('read-after-load'),
    )
    .option(
      '--journal <file>',
      'append a copy of every reading made to this file (to check later what reached billing)',
    )
    .option('--seed <n>', 'random seed for readings and faults', whole('seed'), 1)
    .option('--drop-bytes <fraction>', 'lose this fraction of bytes, both ways', fraction('drop-bytes'))
    .option('--corrupt-bytes <fraction>', 'flip a bit in this fraction of bytes, both ways', fraction('corrupt-bytes'))
    .option('--corrupt-frames <fraction>', 'damage this fraction of frames, both ways', fraction('corrupt-frames'))
    .option('--wrong-crc <fraction>', 'send this fraction of frames with a wrong CRC', fraction('wrong-crc'))
    .option('--garbage <fraction>', 'put random bytes before this fraction of frames', fraction('garbage'))
    .option('--oversized <fraction>', 'put an oversized frame before this fraction of frames', fraction('oversized'))
    .option('--stall-after <bytes>', 'go silent once after this many bytes', whole('stall-after'))
    .option('--stall-ms <ms>', 'how long the stall lasts', whole('stall-ms'), 8000)
    .option('--reset-after <bytes>', 'reset (reboot) once after this many bytes', whole('reset-after'))
    .option(
      '--disconnect-after <bytes>',
      'close the port once after this many bytes, then reconnect',
      whole('disconnect-after'),
    )
    .action(
      async (
        opts: SimOptions & { seed: number; stallAfter?: number; resetAfter?: number; disconnectAfter?: number },
        cmd: Command,
      ) => {
        const config = kit.configOf(cmd);
        const layouts = layoutLoader(config);
        const device = new HandheldDevice({
          deviceId: opts.device,
          port: opts.port,
          baudRate: opts.baud,
          paceBaud: opts.pace,
          battery: opts.battery,
          maxFrame: opts.maxFrame,
          dir: opts.dir ?? path.resolve(config.dataDir, 'sim', opts.device),
          reading: {
            routeLayout: layouts(config.layouts.route),
            readLayout: layouts(config.layouts.read),
            zone: config.timeZone,
            readerId: 'SIM01',
            seed: opts.seed,
            journal: opts.journal,
          },
          readAfterLoadMs: opts.readAfterLoad === undefined ? undefined : opts.readAfterLoad * 1000,
          faults: {
            dropBytes: opts.dropBytes,
            corruptBytes: opts.corruptBytes,
            corruptFrames: opts.corruptFrames,
            wrongCrc: opts.wrongCrc,
            garbage: opts.garbage,
            oversized: opts.oversized,
            stallAfterBytes: opts.stallAfter,
            stallMs: opts.stallMs,
            resetAfterBytes: opts.resetAfter,
            disconnectAfterBytes: opts.disconnectAfter,
            seed: opts.seed,
          },
          log: (m) => console.log(`${new Date().toISOString()} ${m}`),
        });
        const say = (m: string) => console.log(`${new Date().toISOString()} ${opts.device}: ${m}`);
        if (opts.read) for (const route of device.readRoutes()) say(`readings ready for ${route}`);
        const held = device.heldRoutes();
        say(
          `holding ${held.length} ` +
            `route(s)${held.map((r) => ` ${r.route} (${r.records} records, ${r.read} read)`).join(',')}; docking on ` +
            `${opts.port}`,
        );
        device.on('loadBegin', (route, from) => say(`loading ${route}${from ? ` from byte ${from}` : ''}`));
        device.on('loaded', (route, records) => say(`route ${route} loaded: ${records} records`));
        device.on('unloadBegin', (route, from) =>
          say(`unloading readings of ${route}${from ? ` from byte ${from}` : ''}`),
        );
        device.on('cleared', (route) => say(`route ${route} cleared by the gateway`));
        device.on('gatewayError', (code, message) => say(`gateway says ${code}: ${message}`));
        await device.start();
        await new Promise<void>((resolve) => {
          const stop = () => void device.stop().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        if (device.faults.active) say(`faults injected: ${JSON.stringify(device.faults.counts)}`);
      },
    );
}
